// Scalars, argument checking, the registry and CompileTransform().
#include "hub/mapping/transform.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <exception>
#include <utility>

#include "hub/mapping/transform_internal.hpp"

namespace channelhub::mapping {

namespace {

constexpr std::array<std::string_view, 6> kKindNames = {"null",    "string",  "decimal",
                                                        "integer", "boolean", "time"};

Result<int64_t> ParseInt64(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || digits.front() == '+') {
    return Status::Invalid("expected an integer, got " + internal::Quote(text));
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return Status::Invalid("integer " + internal::Quote(text) + " is out of the 64-bit range");
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return Status::Invalid("expected an integer, got " + internal::Quote(text));
  }
  return v;
}

// Levenshtein distance, for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const std::vector<internal::Registration>& Registry() {
  static const std::vector<internal::Registration> registry = [] {
    std::vector<internal::Registration> all;
    for (auto part : {internal::TextTransforms(), internal::NumberTransforms(),
                      internal::TimeTransforms(), internal::LookupTransforms()}) {
      for (auto& r : part) all.push_back(std::move(r));
    }
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.info.name < b.info.name; });
    return all;
  }();
  return registry;
}

}  // namespace

std::string_view KindName(Scalar::Kind kind) { return kKindNames[static_cast<size_t>(kind)]; }

Result<Scalar::Kind> KindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<Scalar::Kind>(i);
  }
  return Status::Invalid("expected a kind (null, string, decimal, integer, boolean or time), got " +
                         internal::Quote(name));
}

std::string KindSet::ToString() const {
  std::string out;
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (!Contains(static_cast<Scalar::Kind>(i))) continue;
    if (!out.empty()) out += ", ";
    out += kKindNames[i];
  }
  return out;
}

Result<Scalar> Scalar::Parse(Kind kind, std::string_view text) {
  switch (kind) {
    case Kind::kNull:
      return Scalar();
    case Kind::kString:
      return String(std::string(text));
    case Kind::kDecimal: {
      Result<Decimal> d = Decimal::Parse(text);
      if (!d.ok()) return d.status();
      return FromDecimal(*d);
    }
    case Kind::kInteger: {
      Result<int64_t> v = ParseInt64(text);
      if (!v.ok()) return v.status();
      return Integer(*v);
    }
    case Kind::kBoolean: {
      std::string lower(text);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true") return Boolean(true);
      if (lower == "false") return Boolean(false);
      return Status::Invalid("expected true or false, got " + internal::Quote(text));
    }
    case Kind::kTime: {
      Result<UtcTime> t = ParseRfc3339(text);
      if (!t.ok()) return t.status();
      return Time(*t);
    }
  }
  return Status::Internal("unknown scalar kind");
}

Result<Scalar> Transform::Apply(const Scalar& in) const {
  if (in.is_null() && !HandlesNull()) return Scalar();
  // An integer is text to a text transform: a sku or code some senders write as a JSON number
  // (trim, upper, regex_replace, lookup on 10086 work on "10086").
  if (in.kind() == Scalar::Kind::kInteger && !input_kinds_.Contains(Scalar::Kind::kInteger) &&
      input_kinds_.Contains(Scalar::Kind::kString)) {
    return Apply(Scalar::String(in.text()));
  }
  if (!in.is_null() && !input_kinds_.Contains(in.kind())) {
    return Status::Invalid(name_ + ": expects " + input_kinds_.ToString() + ", got " +
                           std::string(KindName(in.kind())) + " " + internal::Quote(in.text()));
  }
  // Nothing below is expected to throw; this keeps a surprise (bad_alloc) from taking the
  // process down on the per-event path.
  try {
    return ApplyValue(in);
  } catch (const std::exception& e) {
    return Status::Internal(name_ + ": " + e.what());
  }
}

bool Transform::AppendFromText(std::string_view, std::string*) const { return false; }

bool Transform::AppendFromDecimal(const Decimal&, std::string*) const { return false; }

Status Transform::ValueError(std::string_view value, std::string_view reason) const {
  return Status::Invalid(name_ + ": " + internal::Quote(value) + " " + std::string(reason));
}

std::vector<TransformInfo> ListTransforms() {
  std::vector<TransformInfo> out;
  for (const auto& r : Registry()) out.push_back(r.info);
  return out;
}

Result<std::unique_ptr<Transform>> CompileTransform(std::string_view name,
                                                    const TransformArgs& args,
                                                    const std::string& base_dir) {
  const auto& registry = Registry();
  for (const auto& r : registry) {
    if (r.info.name != name) continue;
    Result<internal::ArgReader> reader = internal::ArgReader::Make(r.info, args);
    if (!reader.ok()) return reader.status();
    return r.factory(*reader, base_dir);
  }
  std::string best;
  size_t best_distance = 3;  // suggest only close names
  std::string known;
  for (const auto& r : registry) {
    size_t d = EditDistance(name, r.info.name);
    if (d < best_distance) {
      best_distance = d;
      best = r.info.name;
    }
    if (!known.empty()) known += ", ";
    known += r.info.name;
  }
  std::string message = "unknown transform " + internal::Quote(name);
  if (!best.empty()) message += "; did you mean \"" + best + "\"?";
  message += " Known transforms: " + known;
  return Status::NotFound(std::move(message));
}

namespace internal {

Result<ArgReader> ArgReader::Make(const TransformInfo& info, const TransformArgs& args) {
  ArgReader r;
  r.transform_ = info.name;
  auto documented = [&](std::string_view n) {
    return std::any_of(info.args.begin(), info.args.end(),
                       [&](const ArgInfo& a) { return a.name == n; });
  };
  std::string names;
  for (const ArgInfo& a : info.args) {
    if (!a.default_value.empty()) r.defaults_[a.name] = a.default_value;
    names += names.empty() ? "" : ", ";
    names += a.name;
  }
  if (names.empty()) names = "none";
  if (args.positional.size() > info.args.size()) {
    return r.Fail("takes at most " + std::to_string(info.args.size()) + " positional arguments (" +
                  names + "), got " + std::to_string(args.positional.size()));
  }
  for (size_t i = 0; i < args.positional.size(); ++i) {
    r.values_[info.args[i].name] = args.positional[i];
  }
  for (const auto& [key, value] : args.named) {
    if (!documented(key)) {
      return r.Fail("unknown argument " + Quote(key) + "; expected one of: " + names);
    }
    if (r.values_.count(key) != 0) {
      return r.Fail("argument " + Quote(key) + " is given both by position and by name");
    }
    r.values_[key] = value;
  }
  for (const ArgInfo& a : info.args) {
    if (a.required && r.values_.count(a.name) == 0) {
      return r.Fail("missing required argument \"" + a.name + "\" (" + a.doc + ")");
    }
  }
  if (!args.table.empty() && !info.takes_table) return r.Fail("takes no table");
  r.table_ = args.table;
  return r;
}

std::optional<std::string> ArgReader::Get(std::string_view arg) const {
  if (auto it = values_.find(std::string(arg)); it != values_.end()) return it->second;
  if (auto it = defaults_.find(std::string(arg)); it != defaults_.end()) return it->second;
  return std::nullopt;
}

bool ArgReader::Has(std::string_view arg) const { return values_.count(std::string(arg)) != 0; }

Result<int> ArgReader::Int(std::string_view arg, int lo, int hi) const {
  std::string text = Get(arg).value_or("");
  std::string expected = "an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  int v = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, v);
  if (text.empty() || ec != std::errc() || p != end || v < lo || v > hi) {
    return Error(arg, expected);
  }
  return v;
}

Result<std::string> ArgReader::OneOf(std::string_view arg,
                                     std::initializer_list<std::string_view> choices) const {
  std::string text = Get(arg).value_or("");
  std::string expected = "one of ";
  for (std::string_view c : choices) {
    if (c == text) return text;
    if (expected.size() > 7) expected += ", ";
    // Choices that are not words (separators) are quoted, or "one of ,,  , '" reads as noise.
    const bool word = !c.empty() && std::all_of(c.begin(), c.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
    expected += word && c != "_" ? std::string(c) : "\"" + std::string(c) + "\"";
  }
  return Error(arg, expected);
}

Result<bool> ArgReader::Bool(std::string_view arg) const {
  std::string text = Get(arg).value_or("");
  if (text == "true") return true;
  if (text == "false") return false;
  return Error(arg, "true or false");
}

Status ArgReader::Error(std::string_view arg, std::string_view expected) const {
  return Fail("argument \"" + std::string(arg) + "\" must be " + std::string(expected) + ", got " +
              Quote(Get(arg).value_or("")));
}

Status ArgReader::Fail(std::string_view message) const {
  return Status::Invalid(transform_ + ": " + std::string(message));
}

std::string Quote(std::string_view value) {
  constexpr size_t kMaxShown = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  size_t i = 0;
  while (i < value.size() && i < kMaxShown) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // A whole UTF-8 character, or its first byte as \xHH when it is not one: a message must
      // itself be UTF-8 (it goes into JSON: dead letters, logs, HTTP answers).
      size_t next = i;
      if (DecodeUtf8(value, &next) >= 0) {
        out.append(value.substr(i, next - i));
        i = next;
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        ++i;
      }
    }
  }
  out += '"';
  if (i < value.size()) out += "...";
  return out;
}

int32_t DecodeUtf8(std::string_view s, size_t* pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t i = *pos;
  unsigned char lead = byte(i);
  int len = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if (lead < 0x80) {
    *pos = i + 1;
    return lead;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + static_cast<size_t>(len) > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    unsigned char c = byte(i + static_cast<size_t>(k));
    if ((c & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *pos = i + static_cast<size_t>(len);
  return cp;
}

void AppendUtf8(int32_t cp, std::string* out) {
  auto put = [&](int32_t v) { out->push_back(static_cast<char>(v)); };
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xC0 | (cp >> 6)), put(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    put(0xE0 | (cp >> 12)), put(0x80 | ((cp >> 6) & 0x3F)), put(0x80 | (cp & 0x3F));
  } else {
    put(0xF0 | (cp >> 18)), put(0x80 | ((cp >> 12) & 0x3F));
    put(0x80 | ((cp >> 6) & 0x3F)), put(0x80 | (cp & 0x3F));
  }
}

std::optional<std::string> Utf8Problem(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t at = pos;
    if (DecodeUtf8(s, &pos) < 0) return "is not valid UTF-8 (at byte " + std::to_string(at) + ")";
  }
  return std::nullopt;
}

Result<std::chrono::minutes> ResolveZone(const ArgReader& args, std::string_view arg) {
  // Zones with one offset all year now. Their historical daylight saving (China until 1991,
  // Taiwan until 1979, Japan until 1951, Korea until 1988) is ignored, as is Singapore's +07:30
  // before 1982: ERP payloads are about the present.
  static constexpr std::pair<std::string_view, int> kZones[] = {
      {"Asia/Shanghai", 480},
      {"Asia/Hong_Kong", 480},
      {"Asia/Taipei", 480},
      {"Asia/Singapore", 480},
      {"Asia/Tokyo", 540},
      {"Asia/Seoul", 540},
      {"UTC", 0},
      {"Etc/UTC", 0},
  };
  std::string text = args.Get(arg).value_or("");
  std::string names;
  for (const auto& [zone, offset] : kZones) {
    if (zone == text) return std::chrono::minutes(offset);
    names += names.empty() ? "" : ", ";
    names += zone;
  }
  if (!text.empty() && (text[0] == '+' || text[0] == '-' || text == "Z")) {
    Result<std::chrono::minutes> offset = ParseUtcOffset(text);
    if (offset.ok()) return offset;
  }
  return args.Error(arg, "a UTC offset such as \"+08:00\" or one of the fixed-offset zones " +
                             names + " (zones with daylight saving are not supported)");
}

}  // namespace internal
}  // namespace channelhub::mapping
