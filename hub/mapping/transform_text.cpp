// Text transforms: trim, upper, lower, halfwidth, split, regex_replace, email, phone_e164, hash,
// default.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "hub/common/ids.hpp"
#include "hub/mapping/transform.hpp"
#include "hub/mapping/transform_internal.hpp"

namespace channelhub::mapping::internal {
namespace {

using Kind = Scalar::Kind;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Strips ASCII whitespace, U+00A0 (no-break space) and U+3000 (ideographic space) from both
// ends, which ERP exports pad with.
class Trim final : public Transform {
 public:
  Trim() : Transform("trim", {Kind::kString}, Kind::kString) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    const std::string& s = in.text();
    if (auto problem = Utf8Problem(s)) return ValueError(s, *problem);
    auto space_at = [&](size_t i, size_t* len) {
      if (IsAsciiSpace(s[i])) return *len = 1, true;
      if (s.compare(i, 2, "\xC2\xA0") == 0) return *len = 2, true;
      if (s.compare(i, 3, "\xE3\x80\x80") == 0) return *len = 3, true;
      return false;
    };
    size_t begin = 0;
    size_t len = 0;
    while (begin < s.size() && space_at(begin, &len)) begin += len;
    // Scan forward so that a multi-byte space is recognised from its lead byte.
    size_t end = begin;
    size_t pos = begin;
    while (pos < s.size()) {
      if (space_at(pos, &len)) {
        pos += len;
      } else {
        DecodeUtf8(s, &pos);
        end = pos;
      }
    }
    return Scalar::String(s.substr(begin, end - begin));
  }
};

// ASCII-only case mapping: Chinese has no case, and full-width Latin letters are left alone
// (apply halfwidth first).
class Case final : public Transform {
 public:
  explicit Case(bool upper)
      : Transform(upper ? "upper" : "lower", {Kind::kString}, Kind::kString), upper_(upper) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    std::string s = in.text();
    for (char& c : s) {
      if (upper_ && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (!upper_ && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return Scalar::String(std::move(s));
  }

  bool upper_;
};

// U+FF01..U+FF5E (full-width ASCII) become U+0021..U+007E and U+3000 becomes a space; every
// other character is kept.
class Halfwidth final : public Transform {
 public:
  Halfwidth() : Transform("halfwidth", {Kind::kString}, Kind::kString) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    const std::string& s = in.text();
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
      size_t at = pos;
      int32_t cp = DecodeUtf8(s, &pos);
      if (cp < 0) return ValueError(s, "is not valid UTF-8 (at byte " + std::to_string(at) + ")");
      if (cp >= 0xFF01 && cp <= 0xFF5E) {
        out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
      } else if (cp == 0x3000) {
        out.push_back(' ');
      } else {
        out.append(s, at, pos - at);
      }
    }
    return Scalar::String(std::move(out));
  }
};

class Split final : public Transform {
 public:
  Split(std::string separator, int index, bool null_when_missing)
      : Transform("split", {Kind::kString}, Kind::kString),
        separator_(std::move(separator)),
        index_(index),
        null_when_missing_(null_when_missing) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    const std::string& s = in.text();
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
      size_t found = s.find(separator_, start);
      if (found == std::string::npos) break;
      parts.emplace_back(s.data() + start, found - start);
      start = found + separator_.size();
    }
    parts.emplace_back(s.data() + start, s.size() - start);
    long long i = index_ < 0 ? static_cast<long long>(parts.size()) + index_ : index_;
    if (i < 0 || i >= static_cast<long long>(parts.size())) {
      if (null_when_missing_) return Scalar();
      return ValueError(s, "has " + std::to_string(parts.size()) + " parts separated by " +
                               Quote(separator_) + ", no part at index " + std::to_string(index_));
    }
    return Scalar::String(std::string(parts[static_cast<size_t>(i)]));
  }

  std::string separator_;
  int index_;
  bool null_when_missing_;
};

// PCRE2 with its JIT: linear-ish speed on the patterns mappings use (leading zeros, separators),
// Perl/ECMAScript syntax with lookarounds, UTF-8 aware character classes, and a match limit
// instead of unbounded backtracking, so a careless pattern cannot stall the pipeline.
class RegexReplace final : public Transform {
 public:
  static constexpr size_t kMaxInputBytes = 64 * 1024;
  static constexpr uint32_t kMatchLimit = 1000000;

  RegexReplace(pcre2_code* code, std::string replacement)
      : Transform("regex_replace", {Kind::kString}, Kind::kString),
        code_(code, pcre2_code_free),
        replacement_(std::move(replacement)) {
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without a JIT it still runs, interpreted
    context_.reset(pcre2_match_context_create(nullptr));
    if (context_) pcre2_set_match_limit(context_.get(), kMatchLimit);
    uint32_t captures = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
    pairs_ = captures + 1;
  }

  // What is wrong with "replacement" for "code" (a group it names that the pattern lacks, a $
  // that starts nothing), or "": PCRE2 would say so only when a value matches, on every event.
  static std::string CheckReplacement(const pcre2_code* code, const std::string& r) {
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    const std::string have = "the pattern has " + std::to_string(groups) + (groups == 1 ? " group" : " groups");
    auto named = [&](const std::string& name) -> std::string {
      if (pcre2_substring_number_from_name(code, reinterpret_cast<PCRE2_SPTR>(name.c_str())) >= 0) return "";
      return "\"$" + name + "\": the pattern has no group named \"" + name + "\" (a group is named (?<" + name +
             ">...)); write $$ for a dollar sign";
    };
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (r[i] != '$') continue;
      if (i + 1 == r.size()) return "a lone $ at the end; write $$ for a dollar sign, $1 or ${1} for a group";
      const char c = r[i + 1];
      if (c == '$' || c == '&') {
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      std::string ref;
      if (c == '{') {
        const std::size_t close = r.find('}', i + 2);
        if (close == std::string::npos) return "\"${\" is not closed; write ${1} (or ${name})";
        ref = r.substr(i + 2, close - i - 2);
        j = close + 1;
      } else {
        while (j < r.size() && word(r[j]) && (std::isdigit(static_cast<unsigned char>(c)) ? std::isdigit(static_cast<unsigned char>(r[j])) : true)) ++j;
        ref = r.substr(i + 1, j - i - 1);
      }
      if (ref.empty() || !std::all_of(ref.begin(), ref.end(), word)) {
        return "\"$" + std::string(1, c) + "\" starts no group reference; write $$ for a dollar sign, $1 or ${1} "
               "for a group, $& for the match";
      }
      if (std::isdigit(static_cast<unsigned char>(ref.front()))) {
        if (!std::all_of(ref.begin(), ref.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
          return "\"${" + ref + "}\" is not a group number or name";
        }
        const unsigned long n = ref.size() > 6 ? ULONG_MAX : std::stoul(ref);
        if (n > groups) {
          std::string msg = "\"$" + ref + "\" inserts group " + ref + ", but " + have;
          if (ref.size() > 1 && static_cast<unsigned long>(ref[0] - '0') <= groups) {
            msg += "; for group " + ref.substr(0, 1) + " followed by \"" + ref.substr(1) + "\" write ${" +
                   ref.substr(0, 1) + "}" + ref.substr(1);
          }
          return msg;
        }
      } else if (std::string bad = named(ref); !bad.empty()) {
        return bad;
      }
      i = j - 1;
    }
    return "";
  }

  // Compiles "pattern"; the error names the offset in the pattern.
  static Result<pcre2_code*> Compile(const std::string& pattern) {
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF, &code, &offset, nullptr);
    if (re) return re;
    return Status::Invalid(ErrorText(code) + " at offset " + std::to_string(offset));
  }

 private:
  static std::string ErrorText(int code) {
    PCRE2_UCHAR buf[256];
    int n = pcre2_get_error_message(code, buf, sizeof buf);
    return n < 0 ? "error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  }

  // The match data for one call: kept per thread and grown to the most capture pairs any pattern
  // asked for, instead of pcre2_substitute allocating and freeing one per value.
  pcre2_match_data* MatchData() const {
    struct Cache {
      pcre2_match_data* data = nullptr;
      uint32_t pairs = 0;
      ~Cache() { pcre2_match_data_free(data); }
    };
    thread_local Cache cache;
    if (cache.pairs < pairs_) {
      pcre2_match_data* fresh = pcre2_match_data_create(pairs_, nullptr);
      if (fresh == nullptr) return nullptr;  // pcre2_substitute then makes its own
      pcre2_match_data_free(cache.data);
      cache.data = fresh;
      cache.pairs = pairs_;
    }
    return cache.data;
  }

  Result<Scalar> ApplyValue(const Scalar& in) const override {
    const std::string& s = in.text();
    if (s.size() > kMaxInputBytes) {
      return ValueError(s, "is longer than the " + std::to_string(kMaxInputBytes) +
                               " bytes regex_replace accepts");
    }
    std::string out(s.size() + replacement_.size() + 16, '\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
      PCRE2_SIZE size = out.size();
      int rc = pcre2_substitute(code_.get(), reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0,
                                PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, MatchData(),
                                context_.get(), reinterpret_cast<PCRE2_SPTR>(replacement_.data()),
                                replacement_.size(), reinterpret_cast<PCRE2_UCHAR*>(out.data()), &size);
      if (rc == PCRE2_ERROR_NOMEMORY && attempt == 0) {
        out.assign(size, '\0');  // "size" is now the length needed
        continue;
      }
      if (rc < 0) {
        if (rc == PCRE2_ERROR_MATCHLIMIT) return ValueError(s, "needs too many steps to match (simplify the pattern)");
        if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) return ValueError(s, "is not valid UTF-8");
        return ValueError(s, "could not be replaced: " + ErrorText(rc));
      }
      out.resize(size);
      return Scalar::String(std::move(out));
    }
    return ValueError(s, "could not be replaced");
  }

  std::unique_ptr<pcre2_code, void (*)(pcre2_code*)> code_;
  std::unique_ptr<pcre2_match_context, void (*)(pcre2_match_context*)> context_{nullptr, pcre2_match_context_free};
  std::string replacement_;
  uint32_t pairs_ = 1;  // capture groups + the whole match
};

// Lower-cases ASCII in the whole address. Lower-casing the local part is a choice (RFC 5321
// lets a server treat it case-sensitively, but in practice none does, and matching customers
// needs one spelling); lower_local: false keeps it.
class Email final : public Transform {
 public:
  explicit Email(bool lower_local)
      : Transform("email", {Kind::kString}, Kind::kString), lower_local_(lower_local) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    const std::string& raw = in.text();
    size_t b = 0;
    size_t e = raw.size();
    while (b < e && IsAsciiSpace(raw[b])) ++b;
    while (e > b && IsAsciiSpace(raw[e - 1])) --e;
    std::string s = raw.substr(b, e - b);
    if (auto problem = Utf8Problem(s)) return ValueError(raw, *problem);
    // Typed on a Chinese keyboard: full-width letters, digits, ＠ and ．, and ideographic spaces.
    if (s.find('\xEF') != std::string::npos || s.find("\xE3\x80\x80") != std::string::npos) {
      std::string narrow;
      for (size_t pos = 0; pos < s.size();) {
        const size_t start = pos;
        const int32_t cp = DecodeUtf8(s, &pos);
        if (cp >= 0xFF01 && cp <= 0xFF5E) {
          narrow += static_cast<char>(cp - 0xFEE0);
        } else if (cp == 0x3000) {
          narrow += ' ';
        } else {
          narrow.append(s, start, pos - start);
        }
      }
      s = std::move(narrow);
      while (!s.empty() && IsAsciiSpace(s.back())) s.pop_back();
      while (!s.empty() && IsAsciiSpace(s.front())) s.erase(0, 1);
    }
    // "王芳 <wang.fang@example.cn>", as mail programs and CRM exports write it: the address.
    if (const size_t open = s.rfind('<'); open != std::string::npos && !s.empty() && s.back() == '>') {
      s = s.substr(open + 1, s.size() - open - 2);
    }
    for (char c : s) {
      if (std::string_view("<>()[],;:\\\"").find(c) != std::string_view::npos) {
        return ValueError(raw, std::string("is not an email address: it contains \"") + c + "\"");
      }
    }
    size_t at = s.find('@');
    if (at == std::string::npos || s.find('@', at + 1) != std::string::npos) {
      return ValueError(raw, "is not an email address: it must contain exactly one \"@\"");
    }
    if (at == 0) return ValueError(raw, "is not an email address: nothing before \"@\"");
    for (char c : s) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        return ValueError(raw, "is not an email address: it contains a space or control character");
      }
    }
    std::string_view domain = std::string_view(s).substr(at + 1);
    if (domain.find('.') == std::string_view::npos) {
      return ValueError(raw, "is not an email address: the domain has no \".\"");
    }
    size_t start = 0;
    while (start <= domain.size()) {
      size_t dot = domain.find('.', start);
      if (dot == std::string_view::npos) dot = domain.size();
      std::string_view label = domain.substr(start, dot - start);
      if (label.empty() || label.front() == '-' || label.back() == '-') {
        return ValueError(raw,
                          "is not an email address: the domain has an empty label or a "
                          "label that starts or ends with \"-\"");
      }
      start = dot + 1;
    }
    for (size_t i = lower_local_ ? 0 : at; i < s.size(); ++i) {
      if (s[i] >= 'A' && s[i] <= 'Z') s[i] = static_cast<char>(s[i] - 'A' + 'a');
    }
    return Scalar::String(std::move(s));
  }

  bool lower_local_;
};

// A CN-focused normaliser (not libphonenumber): see the phone_e164 entry in TextTransforms().
class PhoneE164 final : public Transform {
 public:
  explicit PhoneE164(bool null_on_invalid)
      : Transform("phone_e164", {Kind::kString, Kind::kInteger}, Kind::kString), null_on_invalid_(null_on_invalid) {}

 private:
  static bool IsCnMobile(std::string_view d) {
    return d.size() == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
  }
  // A national significant number without the trunk 0: 2-digit area codes (10, 20..29) take
  // 8-digit subscriber numbers; 3-digit ones take 7 or 8. 400/800 numbers have 10 digits.
  static bool IsCnLandline(std::string_view d) {
    if (d.empty() || d[0] == '0' || (d[0] == '1' && d.substr(0, 2) != "10")) return false;
    if (d.substr(0, 3) == "400" || d.substr(0, 3) == "800") return d.size() == 10;
    if (d.substr(0, 2) == "10" || d[0] == '2') return d.size() == 10;
    return d.size() == 10 || d.size() == 11;
  }

  // on_invalid: "null": a number that is not one (a foreign local number, "n/a") leaves the
  // field without a value instead of failing the event.
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    Result<Scalar> out = Normalise(in);
    if (!out.ok() && null_on_invalid_) return Scalar::Null();
    return out;
  }

  Result<Scalar> Normalise(const Scalar& in) const {
    const std::string& raw = in.text();
    std::string d;
    bool plus = false;
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c >= '0' && c <= '9') {
        d.push_back(c);
      } else if (c == '+' && d.empty() && !plus) {
        plus = true;
      } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' ||
                 c == '\t') {
        continue;
      } else {
        if (static_cast<unsigned char>(c) >= 0x80) {
          return ValueError(raw, "is not a phone number: a non-ASCII character at byte " +
                                     std::to_string(i) +
                                     " (apply halfwidth first for full-width digits)");
        }
        return ValueError(raw, "is not a phone number: unexpected character " +
                                   Quote(std::string_view(raw).substr(i, 1)));
      }
    }
    if (!plus && d.substr(0, 2) == "00") {
      plus = true;
      d.erase(0, 2);
    }
    if (!plus && d.size() == 13 && d.substr(0, 2) == "86" && IsCnMobile(d.substr(2))) {
      plus = true;
    }
    if (plus) {
      if (d.substr(0, 2) == "86") {
        std::string national = d.substr(2);
        // "+86 (0)21 ..." : a trunk 0 written after the country code.
        if (!national.empty() && national[0] == '0') national.erase(0, 1);
        if (IsCnMobile(national) || IsCnLandline(national)) return Scalar::String("+86" + national);
        return ValueError(raw, "is not a valid Chinese (+86) phone number");
      }
      if (d.size() < 8 || d.size() > 15 || d[0] == '0') {
        return ValueError(raw, "is not an E.164 number: expected + and 8 to 15 digits");
      }
      return Scalar::String("+" + d);
    }
    if (IsCnMobile(d)) return Scalar::String("+86" + d);
    if (d.size() > 1 && d[0] == '0' && IsCnLandline(d.substr(1))) {
      return Scalar::String("+86" + d.substr(1));
    }
    if (IsCnLandline(d) && (d.substr(0, 3) == "400" || d.substr(0, 3) == "800")) {
      return Scalar::String("+86" + d);
    }
    return ValueError(raw,
                      "is not a valid CN phone number: expected an 11-digit mobile number "
                      "(1[3-9]...), a landline with its area code (0...), or +<country code> "
                      "(on_invalid: \"null\" leaves such a value out instead)");
  }

  bool null_on_invalid_;
};

class Hash final : public Transform {
 public:
  explicit Hash(std::string salt)
      : Transform("hash", KindSet::AllNonNull(), Kind::kString), salt_(std::move(salt)) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    return Scalar::String(Sha256Hex(salt_ + in.text()));
  }

  std::string salt_;
};

class Default final : public Transform {
 public:
  explicit Default(Scalar value)
      : Transform("default", {value.kind()}, value.kind()), value_(std::move(value)) {}

 private:
  bool HandlesNull() const override { return true; }
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    if (in.is_null() || in.text().empty()) return value_;
    return in;
  }

  Scalar value_;
};

template <typename T, typename... A>
Result<std::unique_ptr<Transform>> Make(A&&... a) {
  return std::unique_ptr<Transform>(std::make_unique<T>(std::forward<A>(a)...));
}

}  // namespace

std::vector<Registration> TextTransforms() {
  std::vector<Registration> r;
  r.push_back({{"trim",
                "string -> string",
                "strips spaces, tabs, line breaks, U+00A0 and U+3000 at both ends",
                {}},
               [](const ArgReader&, const std::string&) { return Make<Trim>(); }});
  r.push_back(
      {{"upper", "string -> string", "ASCII letters to upper case; other characters unchanged", {}},
       [](const ArgReader&, const std::string&) { return Make<Case>(true); }});
  r.push_back(
      {{"lower", "string -> string", "ASCII letters to lower case; other characters unchanged", {}},
       [](const ArgReader&, const std::string&) { return Make<Case>(false); }});
  r.push_back({{"halfwidth",
                "string -> string",
                "full-width ASCII (U+FF01..U+FF5E) to ASCII and U+3000 to a space; "
                "rejects invalid UTF-8",
                {}},
               [](const ArgReader&, const std::string&) { return Make<Halfwidth>(); }});
  r.push_back(
      {{"split",
        "string -> string (or null: on_missing)",
        "the part at an index of the text split on a separator",
        {{"separator", true, "", "the separator text, not empty"},
         {"index", true, "", "0 for the first part, -1 for the last"},
         {"on_missing", false, "error", "error or null when there is no part at the index"}}},
       [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
         std::string sep = a.Get("separator").value_or("");
         if (sep.empty()) return a.Error("separator", "a non-empty text");
         Result<int> index = a.Int("index", -1000, 1000);
         if (!index.ok()) return index.status();
         Result<std::string> missing = a.OneOf("on_missing", {"error", "null"});
         if (!missing.ok()) return missing.status();
         return Make<Split>(sep, *index, *missing == "null");
       }});
  r.push_back(
      {{"regex_replace",
        "string -> string",
        "replaces every match of a regular expression (Perl/ECMAScript syntax, UTF-8 aware; "
        "inputs up to 64 KiB)",
        {{"pattern", true, "", "a regular expression (PCRE2: lookarounds, \\d, [^...], {m,n})"},
         {"replacement", false, "",
          "the replacement; $1 or ${1} inserts a group (${1}2: group 1, then 2), $name a named group, $& the match, $$ a $"}}},
       [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
         std::string pattern = a.Get("pattern").value_or("");
         if (pattern.empty()) return a.Error("pattern", "a non-empty regular expression");
         auto re = RegexReplace::Compile(pattern);
         if (!re.ok()) {
           return a.Fail("argument \"pattern\" is not a valid regular expression: " +
                         re.status().message() + ", got " + Quote(pattern));
         }
         // $& (the match, as ECMAScript writes it) is PCRE2's $0.
         std::string replacement = a.Get("replacement").value_or("");
         if (std::string bad = RegexReplace::CheckReplacement(*re, replacement); !bad.empty()) {
           pcre2_code_free(*re);
           return a.Fail("argument \"replacement\": " + bad + ", got " + Quote(replacement));
         }
         std::string pcre;  // ${0}, not $0: "$&1" is the match, then "1"
         for (size_t i = 0; i < replacement.size(); ++i) {
           if (replacement[i] == '$' && i + 1 < replacement.size() && replacement[i + 1] == '$') {
             pcre += "$$";
             ++i;
           } else if (replacement[i] == '$' && i + 1 < replacement.size() && replacement[i + 1] == '&') {
             pcre += "${0}";
             ++i;
           } else {
             pcre += replacement[i];
           }
         }
         replacement = std::move(pcre);
         return Make<RegexReplace>(*re, std::move(replacement));
       }});
  r.push_back({{"email",
                "string -> string",
                "trims, lower-cases and checks an email address (one @, a dotted domain)",
                {{"lower_local", false, "true",
                  "true to lower-case the part before the @ as well as the domain"}}},
               [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
                 Result<bool> lower_local = a.Bool("lower_local");
                 if (!lower_local.ok()) return lower_local.status();
                 return Make<Email>(*lower_local);
               }});
  r.push_back(
      {{"phone_e164",
        "string, integer -> string",
        "a phone number to E.164 (+8613912345678): CN mobiles and landlines, 86/0086 prefixes, "
        "and numbers already written with +",
        {{"region", false, "CN", "the country assumed for numbers without a prefix; only CN"},
         {"on_invalid", false, "error",
          "error (the event fails), or null: leave the field without a value (a foreign local "
          "number such as (502) 555-0100)"}}},
       [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
         Result<std::string> region = a.OneOf("region", {"CN"});
         if (!region.ok()) return region.status();
         Result<std::string> invalid = a.OneOf("on_invalid", {"error", "null"});
         if (!invalid.ok()) return invalid.status();
         return Make<PhoneE164>(*invalid == "null");
       }});
  r.push_back({{"hash",
                "any -> string",
                "SHA-256 of salt + the value's text, as 64 lower-case hex digits",
                {{"salt", false, "", "text put before the value before hashing"},
                 {"algorithm", false, "sha256", "only sha256"}}},
               [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
                 Result<std::string> alg = a.OneOf("algorithm", {"sha256"});
                 if (!alg.ok()) return alg.status();
                 return Make<Hash>(a.Get("salt").value_or(""));
               }});
  r.push_back({{"default",
                "null or the kind of \"as\" -> the kind of \"as\"",
                "a value used when the input is null or empty; other inputs pass through unchanged",
                {{"value", true, "", "the value, written as the kind given by \"as\""},
                 {"as", false, "string",
                  "the kind of the value and of the input: string, decimal, "
                  "integer, boolean or time"}}},
               [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
                 Result<std::string> as =
                     a.OneOf("as", {"string", "decimal", "integer", "boolean", "time"});
                 if (!as.ok()) return as.status();
                 Result<Scalar::Kind> kind = KindFromName(*as);
                 if (!kind.ok()) return kind.status();
                 Result<Scalar> value = Scalar::Parse(*kind, a.Get("value").value_or(""));
                 if (!value.ok())
                   return a.Error("value", "a " + *as + " (" + value.status().message() + ")");
                 return Make<Default>(std::move(*value));
               }});
  return r;
}

}  // namespace channelhub::mapping::internal
