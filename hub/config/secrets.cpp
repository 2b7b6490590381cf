#include "hub/config/secrets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "hub/config/text.hpp"

namespace channelhub::config::detail {

namespace {

// A secret file larger than this is surely the wrong file.
constexpr std::size_t kMaxSecretFileBytes = 1 << 20;

constexpr std::string_view kExpected = "expected ${env:NAME}, ${file:/path} or ${data_dir}";

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

std::string OsReason(int error) {
  return std::error_code(error, std::generic_category()).message();
}

void TrimTrailingSpace(std::string* s) {
  while (!s->empty()) {
    const char c = s->back();
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') break;
    s->pop_back();
  }
}

void ReplaceEnv(std::string_view name, Substituted* result) {
  const std::string reference = "${env:" + std::string(name) + "}";
  if (!IsEnvName(name)) {
    result->errors.push_back("in " + Quote(reference) +
                             ": expected an environment variable name of letters, digits and "
                             "\"_\", like ${env:SHOPIFY_WEBHOOK_SECRET}");
    return;
  }
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) {
    result->errors.push_back("environment variable " + std::string(name) + " is not set (used as " +
                             reference + ")");
    return;
  }
  if (*value == '\0') {
    result->errors.push_back("environment variable " + std::string(name) + " is empty (used as " +
                             reference + ")");
    return;
  }
  result->value += value;
}

void ReplaceFile(std::string_view path, const SubstitutionContext& context, Substituted* result) {
  const std::string reference = "${file:" + std::string(path) + "}";
  if (path.empty()) {
    result->errors.push_back("in " + Quote(reference) +
                             ": expected a file name, like ${file:/run/secrets/erp_token}");
    return;
  }
  std::string full(path);
  if (path.front() != '/' && !context.base_dir.empty()) full = context.base_dir + "/" + full;
  std::string contents;
  if (std::optional<std::string> failure = ReadFileText(full, kMaxSecretFileBytes, &contents)) {
    result->errors.push_back("cannot read " + reference + ": " + *failure);
    return;
  }
  TrimTrailingSpace(&contents);
  if (contents.empty()) {
    result->errors.push_back("the file of " + reference + " is empty");
    return;
  }
  result->value += contents;
}

}  // namespace

std::optional<std::string> ReadFileText(const std::string& path, std::size_t max_bytes,
                                        std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OsReason(errno);
  std::optional<std::string> failure;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      failure = OsReason(errno);
      break;
    }
    if (n == 0) break;
    out->append(buf, static_cast<std::size_t>(n));
    if (out->size() > max_bytes) {
      failure = "the file is larger than " + std::to_string(max_bytes) + " bytes";
      break;
    }
  }
  ::close(fd);
  return failure;
}

Substituted Substitute(std::string_view text, const SubstitutionContext& context) {
  Substituted result;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "$${") {
      result.value += "${";
      result.changed = true;
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      result.value += text[i];
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      result.errors.push_back("\"${\" without a closing \"}\"; " + std::string(kExpected) +
                              " (write $${ for a literal ${)");
      break;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    result.changed = true;
    if (inner.starts_with("env:")) {
      result.secret = true;
      ReplaceEnv(inner.substr(4), &result);
    } else if (inner.starts_with("file:")) {
      result.secret = true;
      ReplaceFile(inner.substr(5), context, &result);
    } else if (inner == "data_dir") {
      if (context.data_dir) {
        result.value += *context.data_dir;
        result.secret = result.secret || context.data_dir_secret;
      } else {
        result.errors.push_back("${data_dir} cannot be used in data_dir itself");
      }
    } else {
      const std::size_t colon = inner.find(':');
      const std::string_view kind = inner.substr(0, colon);
      std::string hint;
      if (std::optional<std::string> match = ClosestMatch(kind, {"env", "file", "data_dir"})) {
        hint = *match == "data_dir" ? "; did you mean ${data_dir}?"
                                    : "; did you mean ${" + *match + ":...}?";
      }
      result.errors.push_back("unknown substitution " + Quote("${" + std::string(inner) + "}") +
                              "; " + std::string(kExpected) + hint);
    }
    i = close + 1;
  }
  return result;
}

}  // namespace channelhub::config::detail
