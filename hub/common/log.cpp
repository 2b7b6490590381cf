#include "hub/common/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>

#include "hub/common/ids.hpp"

namespace channelhub {
namespace {

// The event the current thread works on (LogContext).
thread_local std::string t_event_id;
thread_local std::string t_trace_id;
thread_local std::string t_source;  // with t_derive: t_trace_id is still to be derived from it (ForEvent)
thread_local bool t_derive = false;

// The current trace id, derived on first use.
const std::string& CurrentTraceId();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsEmailChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '.' || c == '_' || c == '-' ||
         c == '+' || c == '%';
}

// The digits of a phone-like run starting at "i" (digits with single spaces or dashes between
// them, an optional leading '+'); "*end" gets where the run ends.
std::string PhoneDigits(std::string_view s, std::size_t i, std::size_t* end) {
  std::string digits;
  std::size_t j = i;
  if (j < s.size() && s[j] == '+') ++j;
  while (j < s.size()) {
    if (IsDigit(s[j])) {
      digits.push_back(s[j++]);
    } else if ((s[j] == ' ' || s[j] == '-') && j + 1 < s.size() && IsDigit(s[j + 1]) && !digits.empty()) {
      ++j;
    } else {
      break;
    }
  }
  *end = j;
  return digits;
}

// "13800138000" -> "138****8000"; with a country code kept in front.
std::string MaskPhone(const std::string& digits, bool plus) {
  std::string cc;
  std::string national = digits;
  if (plus && digits.starts_with("86")) {
    cc = "86";
    national = digits.substr(2);
  } else if (plus) {
    cc = digits.substr(0, digits.size() > 10 ? digits.size() - 10 : 1);
    national = digits.substr(cc.size());
  }
  std::string out = plus ? "+" + cc : "";
  if (national.size() >= 11) {
    out += national.substr(0, 3) + "****" + national.substr(national.size() - 4);
  } else {
    out += std::string(national.size() > 4 ? national.size() - 4 : 0, '*') +
           national.substr(national.size() > 4 ? national.size() - 4 : 0);
  }
  return out;
}

bool IsMobile(const std::string& national) {
  return national.size() == 11 && national[0] == '1' && national[1] >= '3' && national[1] <= '9';
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// Formats each record as text or a JSON line, masking personal data in the message.
class MaskingFormatter final : public spdlog::formatter {
 public:
  explicit MaskingFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string text = MaskPii(std::string_view(msg.payload.data(), msg.payload.size()));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char when[96];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    const auto level = spdlog::level::to_string_view(msg.level);
    std::string line;
    if (format_ == LogFormat::kJson) {
      line = "{\"time\":\"" + std::string(when) + "\",\"level\":\"" + std::string(level.data(), level.size()) +
             "\",\"msg\":";
      AppendJsonString(&line, text);
      if (!CurrentTraceId().empty()) {
        line += ",\"event_id\":";
        AppendJsonString(&line, MaskPii(t_event_id));
        line += ",\"trace_id\":";
        AppendJsonString(&line, t_trace_id);
      }
      line += "}\n";
    } else {
      line = std::string(when) + " " + std::string(level.data(), level.size()) + " " + text;
      if (!CurrentTraceId().empty()) line += " [event " + MaskPii(t_event_id) + " trace " + t_trace_id + "]";
      line += "\n";
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<MaskingFormatter>(format_); }

 private:
  LogFormat format_;
};

}  // namespace

std::string MaskPii(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    // A phone number: a run of 11+ digits (not part of a longer word or number).
    if ((IsDigit(c) || (c == '+' && i + 1 < s.size() && IsDigit(s[i + 1]))) &&
        (i == 0 || !(IsDigit(s[i - 1]) || std::isalpha(static_cast<unsigned char>(s[i - 1]))))) {
      std::size_t end = i;
      const std::string digits = PhoneDigits(s, i, &end);
      const bool plus = c == '+';
      // A longer number is not a phone; a letter right after one still leaves it a phone
      // (typos such as "13800138000x" are exactly what error messages quote).
      const bool boundary = end == s.size() || !IsDigit(s[end]);
      const std::string national = plus && digits.starts_with("86") ? digits.substr(2) : digits;
      if (boundary && (IsMobile(national) || (plus && digits.size() >= 8 && digits.size() <= 15))) {
        out += MaskPhone(digits, plus);
        i = end;
        continue;
      }
      out.append(s.substr(i, end - i));
      i = end;
      continue;
    }
    // An e-mail address: local@domain.tld -> first character of local, then ***.
    if (c == '@' && !out.empty() && i + 1 < s.size() && IsEmailChar(s[i + 1])) {
      std::size_t start = out.size();
      while (start > 0 && IsEmailChar(out[start - 1])) --start;
      std::size_t j = i + 1;
      while (j < s.size() && IsEmailChar(s[j])) ++j;
      const std::string_view domain = s.substr(i + 1, j - i - 1);
      if (start < out.size() && domain.find('.') != std::string_view::npos) {
        out.resize(start + 1);
        out += "***@";
        out.append(domain);
        i = j;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string TraceIdFor(std::string_view source, std::string_view event_id) {
  std::string key;
  key.reserve(source.size() + event_id.size() + 12);
  key.append("channelhub");
  key.push_back('\0');
  key.append(source);
  key.push_back('\0');
  key.append(event_id);
  return Sha256Hex(key).substr(0, 32);
}

std::string_view InboundEventId(std::string_view id) {
  const std::size_t colon = id.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == id.size()) return id;
  for (std::size_t i = colon + 1; i < id.size(); ++i) {
    if (!IsDigit(id[i])) return id;
  }
  return id.substr(0, colon);
}

LogContext::LogContext(std::string_view event_id, std::string_view trace_id)
    : LogContext(event_id, trace_id, nullptr) {}

LogContext::LogContext(std::string_view event_id, std::string_view trace_id, const std::string_view* source)
    : prev_event_(std::move(t_event_id)),
      prev_trace_(std::move(t_trace_id)),
      prev_source_(std::move(t_source)),
      prev_derive_(t_derive) {
  t_event_id.assign(event_id);
  t_trace_id.assign(trace_id);
  t_derive = source != nullptr;
  if (source) t_source.assign(*source);
}

LogContext LogContext::ForEvent(std::string_view source, std::string_view event_id) {
  return LogContext(event_id, std::string_view(), &source);
}

LogContext::~LogContext() {
  t_event_id = std::move(prev_event_);
  t_trace_id = std::move(prev_trace_);
  t_source = std::move(prev_source_);
  t_derive = prev_derive_;
}

namespace {
const std::string& CurrentTraceId() {
  if (t_derive) {
    t_trace_id = TraceIdFor(t_source, InboundEventId(t_event_id));
    t_derive = false;
  }
  return t_trace_id;
}
}  // namespace

void SetUpLogging(const std::string& level, LogFormat format) {
  auto logger = spdlog::get("channelhub");
  if (!logger) logger = spdlog::stderr_color_mt("channelhub");
  logger->set_formatter(std::make_unique<MaskingFormatter>(format));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace channelhub
