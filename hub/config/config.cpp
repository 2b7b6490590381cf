// Diagnostic text, event type patterns and the value parsers (durations, sizes, addresses).
// LoadConfig itself is in loader.cpp.
#include "hub/config/config.hpp"

#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

#include "hub/config/text.hpp"

namespace channelhub::config {

using detail::Quote;

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

bool TypeMatches(const std::string& pattern, const std::string& type) {
  if (pattern == "*") return true;
  constexpr std::string_view kPrefix = "com.channelhub.";
  std::string_view t(type);
  if (!t.starts_with(kPrefix)) return false;
  t.remove_prefix(kPrefix.size());
  std::string_view p(pattern);
  while (true) {
    const std::size_t p_dot = p.find('.');
    const std::string_view p_part = p.substr(0, p_dot);
    const bool p_last = p_dot == std::string_view::npos;
    // A "*" at the end stands for one or more parts.
    if (p_part == "*" && p_last) return !t.empty();
    const std::size_t t_dot = t.find('.');
    const std::string_view t_part = t.substr(0, t_dot);
    if (t_part.empty()) return false;
    if (p_part != "*" && p_part != t_part) return false;
    if (p_last) return t_dot == std::string_view::npos;
    if (t_dot == std::string_view::npos) return false;
    p.remove_prefix(p_dot + 1);
    t.remove_prefix(t_dot + 1);
  }
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads the whole number at the front of "*text" into "*value"; false when there is no digit.
// "*overflow" is set when it does not fit 64 bits.
bool TakeNumber(std::string_view* text, uint64_t* value, bool* overflow) {
  std::size_t i = 0;
  *value = 0;
  while (i < text->size() && IsDigit((*text)[i])) {
    const uint64_t digit = static_cast<uint64_t>((*text)[i] - '0');
    if (*value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      *overflow = true;
    } else {
      *value = *value * 10 + digit;
    }
    ++i;
  }
  text->remove_prefix(i);
  return i > 0;
}

std::string_view TakeUnit(std::string_view* text) {
  std::size_t i = 0;
  while (i < text->size() && IsLetter((*text)[i])) ++i;
  const std::string_view unit = text->substr(0, i);
  text->remove_prefix(i);
  return unit;
}

// Why a number was refused, for the end of a message.
std::string NumberHint(std::string_view text) {
  if (text.starts_with('-')) return " (it cannot be negative)";
  if (text.find('.') != std::string_view::npos || text.find(',') != std::string_view::npos) {
    return " (use whole numbers)";
  }
  return "";
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr Unit kDurationUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {"d", 24 * 60 * 60 * 1000}};
constexpr Unit kSizeUnits[] = {
    {"B", 1}, {"KB", 1000}, {"KiB", 1024}, {"MB", 1000 * 1000}, {"MiB", 1024 * 1024}};

// The factor of "unit" in "units"; 0 when it is not one of them.
template <std::size_t N>
uint64_t FactorOf(std::string_view unit, const Unit (&units)[N]) {
  for (const Unit& u : units) {
    if (u.name == unit) return u.factor;
  }
  return 0;
}

template <std::size_t N>
std::vector<std::string> NamesOf(const Unit (&units)[N]) {
  std::vector<std::string> names;
  for (const Unit& u : units) names.emplace_back(u.name);
  return names;
}

constexpr std::string_view kDurationExpected = "expected a duration like 500ms, 10s, 5m, 1h; got ";
constexpr std::string_view kSizeExpected = "expected a size like 1048576, 512KiB or 1MiB; got ";

}  // namespace

Result<Millis> ParseDuration(std::string_view text) {
  const std::string expected = std::string(kDurationExpected) + Quote(text);
  if (text == "0") return Millis{0};
  std::string_view rest = text;
  uint64_t total = 0;
  bool overflow = false;
  if (rest.empty()) return Status::Invalid(expected);
  while (!rest.empty()) {
    uint64_t number = 0;
    if (!TakeNumber(&rest, &number, &overflow)) return Status::Invalid(expected + NumberHint(text));
    const std::string_view unit = TakeUnit(&rest);
    if (unit.empty()) {
      std::string hint = NumberHint(text);
      if (hint.empty() && rest.empty()) hint = " (add a unit: ms, s, m, h or d)";
      return Status::Invalid(expected + hint);
    }
    const uint64_t factor = FactorOf(unit, kDurationUnits);
    if (factor == 0) {
      return Status::Invalid("unknown unit " + Quote(unit) + " in " + Quote(text) +
                             "; expected ms, s, m, h or d" +
                             detail::DidYouMean(unit, NamesOf(kDurationUnits)));
    }
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<Millis::rep>::max());
    if (number > kMax / factor || total > kMax - number * factor) {
      overflow = true;
    } else {
      total += number * factor;
    }
  }
  if (overflow) return Status::Invalid("duration " + Quote(text) + " is too large");
  return Millis{static_cast<Millis::rep>(total)};
}

std::string FormatDuration(Millis duration) {
  Millis::rep ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  uint64_t left = 0;
  if (ms < 0) {
    out = "-";
    left = 0 - static_cast<uint64_t>(ms);
  } else {
    left = static_cast<uint64_t>(ms);
  }
  // Largest unit first.
  for (auto unit = std::rbegin(kDurationUnits); unit != std::rend(kDurationUnits); ++unit) {
    if (left >= unit->factor) {
      out += std::to_string(left / unit->factor);
      out += unit->name;
      left %= unit->factor;
    }
  }
  return out;
}

Result<std::size_t> ParseSize(std::string_view text) {
  const std::string expected = std::string(kSizeExpected) + Quote(text);
  std::string_view rest = text;
  uint64_t number = 0;
  bool overflow = false;
  if (!TakeNumber(&rest, &number, &overflow)) return Status::Invalid(expected + NumberHint(text));
  const std::string_view unit = TakeUnit(&rest);
  if (!rest.empty()) return Status::Invalid(expected + NumberHint(text));
  const uint64_t factor = unit.empty() ? 1 : FactorOf(unit, kSizeUnits);
  if (factor == 0) {
    return Status::Invalid("unknown unit " + Quote(unit) + " in " + Quote(text) +
                           "; expected B, KB, KiB, MB or MiB" +
                           detail::DidYouMean(unit, NamesOf(kSizeUnits)));
  }
  constexpr uint64_t kMax = std::numeric_limits<std::size_t>::max();
  if (overflow || number > kMax / factor) {
    return Status::Invalid("size " + Quote(text) + " is too large");
  }
  return static_cast<std::size_t>(number * factor);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const std::string expected = "expected HOST:PORT like 127.0.0.1:8080; got " + Quote(text);
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
      return Status::Invalid(expected);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    for (char c : host) {
      const bool hex = IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return Status::Invalid(expected);
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::Invalid(expected + " (the port is missing)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Status::Invalid(expected + " (write an IPv6 address in brackets, like [::1]:8080)");
    }
    for (char c : host) {
      if (!IsDigit(c) && !IsLetter(c) && c != '-' && c != '.' && c != '_') {
        return Status::Invalid(expected);
      }
    }
  }
  if (host.empty()) {
    return Status::Invalid(expected +
                           " (the host is missing: 127.0.0.1 for this machine only, 0.0.0.0 for "
                           "all interfaces)");
  }
  if (port.empty() || port.size() > 5) return Status::Invalid(expected);
  uint32_t number = 0;
  for (char c : port) {
    if (!IsDigit(c)) return Status::Invalid(expected);
    number = number * 10 + static_cast<uint32_t>(c - '0');
  }
  if (number > 65535) {
    return Status::Invalid("port " + std::string(port) + " in " + Quote(text) +
                           " is out of range; expected 0 to 65535");
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(number)};
}

}  // namespace channelhub::config
