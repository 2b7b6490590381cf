#include "hub/master/normalize.hpp"

#include <opencc/opencc.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

#include "hub/mapping/transform.hpp"
#include "hub/master/similarity.hpp"

namespace channelhub::master {
namespace {

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string FromCodePoints(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size() * 3);
  for (char32_t c : cps) AppendUtf8(out, c);
  return out;
}

bool IsSpaceCp(char32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP;
}

bool IsWordCp(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO);
}

bool IsAsciiText(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// ---- The shared, immutable helpers: built once, used from any thread ----

struct Transforms {
  std::unique_ptr<mapping::Transform> phone;
  std::unique_ptr<mapping::Transform> email;
};

const Transforms& GetTransforms() {
  static const Transforms t = [] {
    Transforms r;
    mapping::TransformArgs none;
    auto phone = mapping::CompileTransform("phone_e164", none, ".");
    if (phone.ok()) r.phone = std::move(phone).value();
    auto email = mapping::CompileTransform("email", none, ".");
    if (email.ok()) r.email = std::move(email).value();
    return r;
  }();
  return t;
}

// OpenCC's conversion functions are thread-safe (only opencc_error() is not); the handle is
// opened once and closed at exit.
class SimplifiedConverter {
 public:
  SimplifiedConverter() {
    for (const char* config : {"t2s.json", "/usr/share/opencc/t2s.json"}) {
      opencc_t h = opencc_open(config);
      if (h != reinterpret_cast<opencc_t>(-1)) {
        handle_ = h;
        break;
      }
    }
  }
  ~SimplifiedConverter() {
    if (handle_ != nullptr) opencc_close(handle_);
  }
  SimplifiedConverter(const SimplifiedConverter&) = delete;
  SimplifiedConverter& operator=(const SimplifiedConverter&) = delete;

  bool available() const { return handle_ != nullptr; }

  std::string Convert(std::string_view text) const {
    if (handle_ == nullptr || IsAsciiText(text)) return std::string(text);
    const std::string input(text);  // NUL-terminated copy
    char* out = opencc_convert_utf8(handle_, input.c_str(), input.size());
    if (out == nullptr) return input;
    std::string result(out);
    opencc_convert_utf8_free(out);
    return result;
  }

 private:
  opencc_t handle_ = nullptr;
};

const SimplifiedConverter& Converter() {
  static const SimplifiedConverter converter;
  return converter;
}

// ---- Provinces ----

struct Province {
  std::string_view full;
  std::string_view short_form;
  bool municipality;
};

constexpr std::array<Province, 34> kProvinces = {{
    {"北京市", "北京", true},        {"天津市", "天津", true},
    {"上海市", "上海", true},        {"重庆市", "重庆", true},
    {"河北省", "河北", false},       {"山西省", "山西", false},
    {"辽宁省", "辽宁", false},       {"吉林省", "吉林", false},
    {"黑龙江省", "黑龙江", false},   {"江苏省", "江苏", false},
    {"浙江省", "浙江", false},       {"安徽省", "安徽", false},
    {"福建省", "福建", false},       {"江西省", "江西", false},
    {"山东省", "山东", false},       {"河南省", "河南", false},
    {"湖北省", "湖北", false},       {"湖南省", "湖南", false},
    {"广东省", "广东", false},       {"海南省", "海南", false},
    {"四川省", "四川", false},       {"贵州省", "贵州", false},
    {"云南省", "云南", false},       {"陕西省", "陕西", false},
    {"甘肃省", "甘肃", false},       {"青海省", "青海", false},
    {"台湾省", "台湾", false},       {"内蒙古自治区", "内蒙古", false},
    {"广西壮族自治区", "广西", false}, {"西藏自治区", "西藏", false},
    {"宁夏回族自治区", "宁夏", false}, {"新疆维吾尔自治区", "新疆", false},
    {"香港特别行政区", "香港", true},  {"澳门特别行政区", "澳门", true},
}};

const Province* FindProvince(std::string_view name) {
  for (const Province& p : kProvinces) {
    if (name == p.full || name == p.short_form) return &p;
  }
  return nullptr;
}

// The province written at the start of "text" and how many bytes it takes.
const Province* ProvinceAtStart(std::string_view text, std::size_t* consumed) {
  for (const Province& p : kProvinces) {
    if (text.substr(0, p.full.size()) == p.full) {
      *consumed = p.full.size();
      return &p;
    }
  }
  for (const Province& p : kProvinces) {
    if (text.substr(0, p.short_form.size()) != p.short_form) continue;
    std::string_view rest = text.substr(p.short_form.size());
    // "吉林市..." is the city of 吉林, not the province; "北京市" was matched above.
    if (!p.municipality && rest.substr(0, 3) == "市") continue;
    if (rest.substr(0, 3) == "省") {
      *consumed = p.short_form.size() + 3;
    } else {
      *consumed = p.short_form.size();
    }
    return &p;
  }
  return nullptr;
}

// The first of "suffixes" that ends a segment of min_before..max_before code points at the start
// of "cps"; returns the segment length including the suffix, or 0.
std::size_t SegmentEndingWith(std::u32string_view cps, std::initializer_list<std::u32string_view> suffixes,
                              std::size_t min_before, std::size_t max_before) {
  for (std::size_t pos = min_before; pos <= max_before && pos < cps.size(); ++pos) {
    for (std::u32string_view suffix : suffixes) {
      if (cps.substr(pos, suffix.size()) == suffix) return pos + suffix.size();
    }
  }
  return 0;
}

std::string CityKey(std::string_view city) {
  std::string c(city);
  if (c.size() > 3 && c.substr(c.size() - 3) == "市") c.resize(c.size() - 3);
  return c;
}

struct ParsedLine {
  std::string province;  // canonical
  std::string city;      // CityKey form
  std::string district;
  std::string rest;
};

ParsedLine ParseLine(std::string_view line) {
  ParsedLine out;
  std::string_view text = line;
  std::size_t consumed = 0;
  const Province* p = ProvinceAtStart(text, &consumed);
  if (p != nullptr) {
    out.province = std::string(p->full);
    text.remove_prefix(consumed);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (p->municipality) {
      out.city = std::string(p->short_form);
      // "北京市北京市朝阳区" / "上海市市辖区": a repeated city level.
      std::string again = std::string(p->short_form) + "市";
      if (text.substr(0, again.size()) == again) text.remove_prefix(again.size());
      if (text.substr(0, 9) == "市辖区") text.remove_prefix(9);
    }
  }
  std::u32string cps = ToCodePoints(text);
  std::size_t pos = 0;
  if (out.city.empty()) {
    std::size_t n = SegmentEndingWith(cps, {U"自治州", U"地区", U"市", U"盟"}, 2, 10);
    if (n > 0) {
      std::string seg = FromCodePoints(std::u32string_view(cps).substr(0, n));
      // A segment that reads as a district ("朝阳区" contains no 市, so only "...区...市" matters)
      // is not a city.
      if (seg.find("区") == std::string::npos && seg.find("县") == std::string::npos) {
        out.city = CityKey(seg);
        pos = n;
      }
    }
  }
  if (pos < cps.size()) {
    std::u32string_view rest = std::u32string_view(cps).substr(pos);
    while (!rest.empty() && rest.front() == U' ') {
      rest.remove_prefix(1);
      ++pos;
    }
    std::size_t n = SegmentEndingWith(rest, {U"区", U"县", U"旗", U"市"}, 1, 6);
    // Housing estates and communities ("阳光小区", "东湖社区") and markets ("农贸市") are street
    // parts, not districts.
    const std::u32string_view seg = rest.substr(0, n);
    if (n >= 2 && (seg.substr(n - 2) == U"小区" || seg.substr(n - 2) == U"社区" || seg.substr(n - 2) == U"贸市")) {
      n = 0;
    }
    if (n > 0) {
      out.district = FromCodePoints(rest.substr(0, n));
      pos += n;
    }
  }
  std::u32string_view rest = std::u32string_view(cps).substr(std::min(pos, cps.size()));
  out.rest = FromCodePoints(rest);
  while (!out.rest.empty() && out.rest.front() == ' ') out.rest.erase(0, 1);
  return out;
}

std::string CleanText(std::string_view raw) { return AsciiLower(ToSimplified(NormalizeText(raw))); }

}  // namespace

// ---- Text ----

std::string NormalizeText(std::string_view text) {
  const std::string repaired = FromCodePoints(ToCodePoints(text));
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(repaired.data()),
                                          static_cast<utf8proc_ssize_t>(repaired.size()), &mapped,
                                          static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                                         UTF8PROC_COMPAT));
  std::string nfkc;
  if (n >= 0 && mapped != nullptr) {
    nfkc.assign(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(n));
  } else {
    nfkc = repaired;
  }
  std::free(mapped);

  std::string out;
  out.reserve(nfkc.size());
  bool pending_space = false;
  for (char32_t cp : ToCodePoints(nfkc)) {
    if (IsSpaceCp(cp)) {
      pending_space = !out.empty();
      continue;
    }
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    if (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF) continue;
    if (pending_space) out.push_back(' ');
    pending_space = false;
    AppendUtf8(out, cp);
  }
  return out;
}

std::string ToSimplified(std::string_view text) { return Converter().Convert(text); }

bool SimplifiedChineseAvailable() { return Converter().available(); }

std::string AsciiLower(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string StripPunctuation(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : ToCodePoints(text)) {
    if (IsWordCp(cp)) AppendUtf8(out, cp);
  }
  return out;
}

// ---- Phones and e-mail ----

std::optional<std::string> NormalizeMobile(std::string_view raw) {
  const auto& t = GetTransforms();
  std::string text = NormalizeText(raw);
  if (text.empty() || t.phone == nullptr) return std::nullopt;
  Result<mapping::Scalar> r = t.phone->Apply(mapping::Scalar::String(std::move(text)));
  if (!r.ok()) return std::nullopt;
  return r->text();
}

std::optional<std::string> NormalizeEmail(std::string_view raw) {
  const auto& t = GetTransforms();
  std::string text = NormalizeText(raw);
  if (text.empty() || t.email == nullptr) return std::nullopt;
  Result<mapping::Scalar> r = t.email->Apply(mapping::Scalar::String(std::move(text)));
  if (!r.ok()) return std::nullopt;
  return r->text();
}

// ---- Credit codes ----

namespace {
constexpr std::string_view kCreditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kCreditWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                29, 25, 13, 8,  24, 10, 30, 28};
}  // namespace

std::optional<char> CreditCodeCheckChar(std::string_view first17) {
  if (first17.size() != 17) return std::nullopt;
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    const std::size_t v = kCreditAlphabet.find(first17[i]);
    if (v == std::string_view::npos) return std::nullopt;
    sum += static_cast<int>(v) * kCreditWeights[i];
  }
  const int check = (31 - sum % 31) % 31;
  return kCreditAlphabet[static_cast<std::size_t>(check)];
}

bool IsValidCreditCode(std::string_view code) {
  if (code.size() != 18) return false;
  const std::optional<char> check = CreditCodeCheckChar(code.substr(0, 17));
  return check.has_value() && *check == code[17];
}

std::pair<std::string, CreditCodeStatus> NormalizeCreditCode(std::string_view raw) {
  std::string code;
  for (char c : NormalizeText(raw)) {
    if (c == ' ' || c == '-') continue;
    code.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  if (code.empty()) return {std::string(), CreditCodeStatus::kAbsent};
  const CreditCodeStatus status = IsValidCreditCode(code) ? CreditCodeStatus::kValid
                                                          : CreditCodeStatus::kInvalid;
  return {std::move(code), status};
}

// ---- Company names ----

CompanyName SplitCompanyName(std::string_view name) {
  CompanyName out;
  // Latin legal forms are whole words at the end: "acme trading co., ltd."
  static constexpr std::array<std::string_view, 15> kLatinForms = {
      "co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc",
      "gmbh", "company", "plc", "pte", "ag", "sa", "group"};
  // A bracketed region: "华为技术(深圳)有限公司", "华为技术(中国)有限公司".
  std::string lowered = AsciiLower(name);
  {
    const size_t open = lowered.find('(');
    const size_t close = open == std::string::npos ? std::string::npos : lowered.find(')', open);
    if (close != std::string::npos) {
      const std::u32string inside = ToCodePoints(std::string_view(lowered).substr(open + 1, close - open - 1));
      const bool cjk = !inside.empty() && std::all_of(inside.begin(), inside.end(), [](char32_t c) {
        return c >= 0x4E00 && c <= 0x9FFF;
      });
      if (cjk && inside.size() >= 2 && inside.size() <= 5) {
        std::string region = FromCodePoints(inside);
        const std::string province = CanonicalProvince(region);
        const Province* p = province.empty() ? nullptr : FindProvince(province);
        out.region = p != nullptr ? std::string(p->short_form) : CityKey(region);
        lowered.erase(open, close - open + 1);
      }
    }
  }
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (char32_t cp : ToCodePoints(lowered)) {
    if (IsWordCp(cp)) {
      AppendUtf8(word, cp);
    } else {
      flush();
    }
  }
  flush();
  std::vector<std::string> latin_forms;
  while (words.size() > 1 && IsAsciiText(words.back()) &&
         std::find(kLatinForms.begin(), kLatinForms.end(), words.back()) != kLatinForms.end()) {
    latin_forms.insert(latin_forms.begin(), words.back());
    words.pop_back();
  }
  std::string compact;
  for (const std::string& w : words) compact += w;

  // Branch offices: "...有限公司北京分公司", "...北京分公司".
  static constexpr std::array<std::string_view, 7> kBranchWords = {
      "分公司", "支公司", "分店", "分厂", "办事处", "营业部", "分部"};
  static constexpr std::array<std::string_view, 6> kAnchors = {
      "有限责任公司", "股份有限公司", "有限公司", "公司", "集团", "厂"};
  for (std::string_view bw : kBranchWords) {
    if (compact.size() <= bw.size() || compact.substr(compact.size() - bw.size()) != bw) continue;
    std::size_t cut = std::string::npos;
    const std::string_view head = std::string_view(compact).substr(0, compact.size() - bw.size());
    for (std::string_view anchor : kAnchors) {
      const std::size_t at = head.rfind(anchor);
      if (at != std::string_view::npos && at > 0) {
        const std::size_t end = at + anchor.size();
        if (cut == std::string::npos || end > cut) cut = end;
      }
    }
    if (cut == std::string::npos) {
      // No legal form before the branch word ("华为北京分公司"): the place is the last two
      // characters, or a longer city or province name that the head ends with.
      static constexpr std::array<std::string_view, 28> kLongPlaces = {
          "哈尔滨", "石家庄", "呼和浩特", "乌鲁木齐", "齐齐哈尔", "张家口", "秦皇岛",
          "连云港", "马鞍山", "景德镇", "平顶山", "驻马店", "张家界", "攀枝花",
          "六盘水", "嘉峪关", "克拉玛依", "吐鲁番", "牡丹江", "佳木斯", "葫芦岛",
          "鄂尔多斯", "黑龙江", "内蒙古", "防城港", "石嘴山", "双鸭山", "满洲里"};
      std::size_t place = 0;
      for (std::string_view lp : kLongPlaces) {
        if (head.size() > lp.size() && head.substr(head.size() - lp.size()) == lp) place = lp.size();
      }
      const std::u32string head_cps = ToCodePoints(head);
      if (place == 0 && head_cps.size() >= 4) {
        place = FromCodePoints(std::u32string_view(head_cps).substr(head_cps.size() - 2)).size();
      }
      cut = head.size() - place;
    }
    out.branch = compact.substr(cut);
    compact.resize(cut);
    break;
  }

  static constexpr std::array<std::string_view, 8> kChineseForms = {
      "股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "总公司", "公司", "集团"};
  std::string forms;
  bool stripped = true;
  while (stripped) {
    stripped = false;
    // A name that is nothing but a legal form ("有限公司") keeps it as its base.
    if (std::find(kChineseForms.begin(), kChineseForms.end(), compact) != kChineseForms.end()) break;
    for (std::string_view f : kChineseForms) {
      if (compact.size() > f.size() && compact.substr(compact.size() - f.size()) == f) {
        forms.insert(0, f);
        compact.resize(compact.size() - f.size());
        stripped = true;
        break;
      }
    }
  }
  for (const std::string& f : latin_forms) {
    if (!forms.empty()) forms += ' ';
    forms += f;
  }
  // A leading region: "广东省深圳市...", "深圳市...", "北京...". At least two characters stay.
  if (out.region.empty()) {
    std::size_t consumed = 0;
    std::string region;
    std::string_view rest = compact;
    if (const Province* p = ProvinceAtStart(rest, &consumed)) {
      region = std::string(p->short_form);
      rest.remove_prefix(consumed);
      if (p->municipality && rest.substr(0, 3) == "市") rest.remove_prefix(3);
    }
    const std::u32string cps = ToCodePoints(rest);
    const std::size_t n = SegmentEndingWith(cps, {U"市"}, 2, 4);
    // "...超市" is a supermarket, not a city ("盐城市", "厦门市" are cities).
    const bool word = n >= 2 && cps[n - 2] == U'超';
    if (n > 0 && !word) {
      region = CityKey(FromCodePoints(std::u32string_view(cps).substr(0, n)));
      rest = std::string_view(rest).substr(FromCodePoints(std::u32string_view(cps).substr(0, n)).size());
    }
    if (!region.empty() && ToCodePoints(rest).size() >= 2) {
      out.region = std::move(region);
      compact = std::string(rest);
    }
  }
  out.base = std::move(compact);
  out.legal_form = std::move(forms);
  return out;
}

// ---- Addresses ----

std::string CanonicalProvince(std::string_view name) {
  const Province* p = FindProvince(name);
  if (p == nullptr && name.size() > 3 && name.substr(name.size() - 3) == "省") {
    p = FindProvince(name.substr(0, name.size() - 3));
  }
  return p == nullptr ? std::string() : std::string(p->full);
}

NormalizedAddress NormalizeAddress(const model::Address& address) {
  NormalizedAddress out;
  const std::string province_raw = CleanText(address.province);
  const std::string city_raw = CleanText(address.city);
  const std::string district_raw = CleanText(address.district);
  const std::string line = CleanText(address.line);

  std::string province = CanonicalProvince(province_raw);
  if (province.empty()) province = province_raw;
  std::string city = CityKey(city_raw);
  if (city.empty() && !province.empty()) {
    const Province* p = FindProvince(province);
    if (p != nullptr && p->municipality) city = std::string(p->short_form);
  }

  const ParsedLine parsed = ParseLine(line);
  const bool conflict = (!province.empty() && !parsed.province.empty() && province != parsed.province) ||
                        (!city.empty() && !parsed.city.empty() && city != parsed.city) ||
                        (!district_raw.empty() && !parsed.district.empty() &&
                         district_raw != parsed.district);
  out.province = province.empty() && !conflict ? parsed.province : province;
  out.city = city.empty() && !conflict ? parsed.city : city;
  out.district = district_raw.empty() && !conflict ? parsed.district : district_raw;
  out.line = conflict ? line : parsed.rest;
  for (char c : NormalizeText(address.postcode)) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      out.postcode.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    }
  }
  for (char c : NormalizeText(address.country)) {
    out.country.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  out.key = StripPunctuation(out.line);
  return out;
}

// ---- Customers ----

void NormalizedCustomer::SetAttribute(std::string name, std::string value) {
  auto it = std::lower_bound(attributes.begin(), attributes.end(), name,
                             [](const auto& a, const std::string& n) { return a.first < n; });
  if (it != attributes.end() && it->first == name) {
    if (value.empty()) {
      attributes.erase(it);
    } else {
      it->second = std::move(value);
    }
  } else if (!value.empty()) {
    attributes.emplace(it, std::move(name), std::move(value));
  }
}

std::string_view NormalizedCustomer::Attribute(std::string_view name) const {
  auto it = std::lower_bound(attributes.begin(), attributes.end(), name,
                             [](const auto& a, std::string_view n) { return a.first < n; });
  if (it != attributes.end() && it->first == name) return it->second;
  return {};
}

std::pair<std::string, std::string> NormalizeName(std::string_view raw, model::CustomerKind kind,
                                                  CompanyName* company) {
  std::string name = CleanText(raw);
  std::string key;
  if (kind == model::CustomerKind::kPerson) {
    // Latin-script names: word order does not matter ("smith john" == "john smith").
    std::vector<std::string> words;
    std::string word;
    bool latin = true;
    for (char32_t cp : ToCodePoints(name)) {
      if (IsWordCp(cp)) {
        if (cp >= 0x80) latin = false;
        AppendUtf8(word, cp);
      } else if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
    }
    if (!word.empty()) words.push_back(std::move(word));
    if (latin) std::sort(words.begin(), words.end());
    for (const std::string& w : words) key += w;
  } else {
    CompanyName split = SplitCompanyName(name);
    key = split.base;
    if (company != nullptr) *company = std::move(split);
  }
  return {std::move(name), std::move(key)};
}

NormalizedCustomer Normalize(const model::Customer& c, const NormalizeOptions& options) {
  NormalizedCustomer out;
  out.kind = c.kind;
  CompanyName company;
  auto [name, key] = NormalizeName(c.name, c.kind, &company);
  out.name = std::move(name);
  out.name_key = std::move(key);
  out.legal_form = std::move(company.legal_form);
  out.branch = std::move(company.branch);
  out.name_region = std::move(company.region);

  for (const std::string& m : c.mobiles) {
    if (std::optional<std::string> e164 = NormalizeMobile(m)) {
      out.mobiles.push_back(std::move(*e164));
    } else if (!NormalizeText(m).empty()) {
      out.invalid_mobiles.push_back(m);
    }
  }
  std::sort(out.mobiles.begin(), out.mobiles.end());
  out.mobiles.erase(std::unique(out.mobiles.begin(), out.mobiles.end()), out.mobiles.end());
  for (const std::string& e : c.emails) {
    if (std::optional<std::string> email = NormalizeEmail(e)) {
      out.emails.push_back(std::move(*email));
    } else if (!NormalizeText(e).empty()) {
      out.invalid_emails.push_back(e);
    }
  }
  std::sort(out.emails.begin(), out.emails.end());
  out.emails.erase(std::unique(out.emails.begin(), out.emails.end()), out.emails.end());

  out.wecom_corp = NormalizeText(options.wecom_corp);
  out.wecom_unionid = NormalizeText(c.wecom.unionid);
  out.wecom_external_userid = NormalizeText(c.wecom.external_userid);

  auto [code, status] = NormalizeCreditCode(c.credit_code);
  out.credit_code = std::move(code);
  out.credit_code_status = status;

  for (const model::Address& a : c.addresses) {
    NormalizedAddress n = NormalizeAddress(a);
    if (n.empty() && n.city.empty() && n.province.empty() && n.district.empty()) continue;
    if (out.city.empty()) out.city = n.city;
    out.addresses.push_back(std::move(n));
  }
  return out;
}

}  // namespace channelhub::master
