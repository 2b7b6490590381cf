#include "connectors/erp/erp_util.hpp"

#include <cctype>

namespace channelhub::connectors::erp {

std::string_view Trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string JsonQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string Snippet(std::string_view body, std::size_t max) {
  std::string_view s = Trim(body);
  bool cut = false;
  if (s.size() > max) {
    std::size_t n = max;
    // Do not split a multi-byte character: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
    cut = true;
  }
  std::string out;
  out.reserve(s.size() + 3);
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (cut) out += "...";
  return out;
}

int64_t RetryAfterMs(const sdk::Response& response) {
  std::string_view v = Trim(response.Header("Retry-After"));
  if (v.empty() || v.size() > 9) return 0;
  int64_t seconds = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds * 1000;
}

bool IsTransientStatus(int status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (sdk::EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string UrlTarget(std::string_view url, std::string_view setting) {
  std::string_view u = Trim(url);
  std::size_t scheme = u.find("://");
  if (scheme == std::string_view::npos ||
      !(sdk::EqualsIgnoreCase(u.substr(0, scheme), "http") ||
        sdk::EqualsIgnoreCase(u.substr(0, scheme), "https")) ||
      scheme + 3 >= u.size()) {
    throw sdk::Failure("setting \"" + std::string(setting) + "\": expected an http(s) URL, got \"" +
                       std::string(u) + "\"");
  }
  std::string_view rest = u.substr(scheme + 3);
  std::size_t cut = rest.find_first_of("/?#");
  if (cut == std::string_view::npos) return "/";
  std::string_view tail = rest.substr(cut);
  std::size_t hash = tail.find('#');
  if (hash != std::string_view::npos) tail = tail.substr(0, hash);
  std::string out(tail);
  if (out.empty() || out[0] == '?') out.insert(out.begin(), '/');
  return out;
}

}  // namespace channelhub::connectors::erp
