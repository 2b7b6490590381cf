// Normalisation for customer matching (hub/master): turns a canonical Customer, as any source
// system sent it, into the comparable form the Matcher works on.
//
// What each field becomes (every text first passes NormalizeText(): invalid UTF-8 repaired to
// U+FFFD, Unicode NFKC — which also turns full-width ASCII into ASCII and U+3000 into a space —,
// control characters dropped, whitespace trimmed and collapsed to one space):
//   name         + traditional -> simplified Chinese (OpenCC t2s), ASCII lower-cased
//   name_key     the name without spaces or punctuation; for companies and dealers also without
//                the legal form ("有限公司", "股份有限公司", "集团", "Co., Ltd.") and without a
//                branch suffix ("北京分公司") and a leading or bracketed region ("深圳市...",
//                "...(深圳)"), which go to legal_form, branch and name_region. For persons in
//                Latin script the words are sorted ("smith john" == "john smith").
//   mobiles      E.164 through the mapping transform phone_e164 (+86 default; 0086/86 prefixes,
//                spaces, dashes, full-width digits); unreadable numbers go to invalid_mobiles
//   emails       trimmed and lower-cased through the mapping transform email; unreadable ones go
//                to invalid_emails
//   credit_code  统一社会信用代码 upper-cased without spaces or dashes, with its GB 32100-2015
//                check digit verified: credit_code_status says valid or invalid (never dropped)
//   addresses    province / city / district filled from the line when they are missing
//                ("广东省深圳市南山区科技园路1号" -> 广东省, 深圳, 南山区, "科技园路1号"), province
//                names canonical ("广东" -> "广东省"), cities without their "市" suffix
//   wecom        unionid and external_userid, scoped by the WeCom corp id given in the options
// Thread-safe: the transforms and the OpenCC converter are built once, on first use.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/model/customer.hpp"

namespace channelhub::master {

// ---- Text ----

// Repairs invalid UTF-8 (each bad byte -> U+FFFD), applies NFKC, drops control characters,
// trims and collapses runs of white space (ASCII and Unicode) to one ASCII space.
std::string NormalizeText(std::string_view text);

// Traditional -> simplified Chinese with OpenCC's t2s configuration ("張偉" -> "张伟"). The text
// comes back unchanged when OpenCC could not be loaded; SimplifiedChineseAvailable() says which.
std::string ToSimplified(std::string_view text);
bool SimplifiedChineseAvailable();

// ASCII A-Z to a-z; everything else unchanged.
std::string AsciiLower(std::string_view text);

// The text without white space, punctuation and symbols (keeps letters, digits and marks).
std::string StripPunctuation(std::string_view text);

// ---- Phones and e-mail ----

// E.164 ("+8613800138000") or nullopt when the text is not a phone number.
std::optional<std::string> NormalizeMobile(std::string_view raw);
// Trimmed, lower-cased address, or nullopt when it is not an e-mail address.
std::optional<std::string> NormalizeEmail(std::string_view raw);

// ---- Unified social credit code (统一社会信用代码, GB 32100-2015) ----

enum class CreditCodeStatus { kAbsent, kValid, kInvalid };

// The check character for the first 17 characters, or nullopt when there are not exactly 17 or
// one lies outside the code's alphabet (0-9, A-H, J-N, P-R, T, U, W-Y).
std::optional<char> CreditCodeCheckChar(std::string_view first17);
// True for 18 characters of the alphabet whose last one is the check character.
bool IsValidCreditCode(std::string_view code);
// NFKC, upper case, spaces and dashes removed; the status of what remains.
std::pair<std::string, CreditCodeStatus> NormalizeCreditCode(std::string_view raw);

// ---- Company names ----

struct CompanyName {
  std::string base;        // "华为技术"
  std::string legal_form;  // "有限公司", "集团股份有限公司", "co ltd"; "" when none
  std::string branch;      // "北京分公司"; "" for a head office
  // The administrative region the name starts with or names in brackets ("深圳市腾讯计算机系统",
  // "华为技术(深圳)", "北京华为"): the city without 市, or the province's short form.
  std::string region;
};
// Splits a name already passed through NormalizeText/ToSimplified/AsciiLower.
// "华为技术有限公司北京分公司" -> {"华为技术", "有限公司", "北京分公司", ""};
// "深圳市腾讯计算机系统有限公司" -> {"腾讯计算机系统", "有限公司", "", "深圳"}.
// A region is only removed when at least two characters of the name remain.
CompanyName SplitCompanyName(std::string_view name);

// ---- Addresses ----

struct NormalizedAddress {
  std::string province;  // canonical full name: "广东省", "北京市", "新疆维吾尔自治区"
  std::string city;      // without a trailing 市: "深圳"; municipalities: "北京"
  std::string district;  // as written, with its suffix: "南山区", "昌平县", "太仓市"
  std::string line;      // the rest (street part), normalised text
  std::string postcode;  // digits and letters only
  std::string country;   // ISO 3166-1 alpha-2 upper case, "" when not given
  // province + city + district + line without spaces or punctuation, for fuzzy comparison.
  std::string key;

  bool empty() const { return key.empty() && postcode.empty(); }
};

// The canonical full name of a province-level division from its full or short form ("广东",
// "广东省", "广西", "内蒙古自治区", "香港"), or "" when the text is none of the 34.
std::string CanonicalProvince(std::string_view name);

// Normalises an address; when province, city or district are missing they are read from the
// start of the line (province table, then "...市/自治州/地区/盟" for the city, then
// "...区/县/旗/市" for the district), and what was read is removed from the line.
NormalizedAddress NormalizeAddress(const model::Address& address);

// ---- Customers ----

struct NormalizeOptions {
  // The WeCom corp (企业) the customer's unionid and external_userid belong to; the Matcher
  // compares WeCom ids only within the same corp ("" counts as one corp of its own).
  std::string wecom_corp;
};

struct NormalizedCustomer {
  model::CustomerKind kind = model::CustomerKind::kPerson;
  std::string name;        // normalised display form
  std::string name_key;    // blocking and comparison key (see above)
  std::string legal_form;  // companies: the legal-form suffix that was removed
  std::string branch;      // companies: the branch-office suffix that was removed
  std::string name_region;  // companies: the region removed from the name ("深圳")
  std::vector<std::string> mobiles;  // E.164, sorted, unique
  std::vector<std::string> emails;   // sorted, unique
  std::vector<std::string> invalid_mobiles;  // as given, for review
  std::vector<std::string> invalid_emails;
  std::string wecom_corp;
  std::string wecom_unionid;
  std::string wecom_external_userid;
  std::string credit_code;
  CreditCodeStatus credit_code_status = CreditCodeStatus::kAbsent;
  std::vector<NormalizedAddress> addresses;
  std::string city;  // the first address's city, for blocking
  // Further comparable attributes by name (date of birth, an identity number, ...), sorted by
  // name with unique names; rules in MatchConfig refer to them. Set with SetAttribute().
  std::vector<std::pair<std::string, std::string>> attributes;

  // Sets (or replaces) an attribute; an empty value removes it.
  void SetAttribute(std::string name, std::string value);
  // The attribute's value, or "" when absent.
  std::string_view Attribute(std::string_view name) const;
};

// Builds the comparable form of one customer. Never fails: values that cannot be read are kept
// aside (invalid_mobiles, invalid_emails, credit_code_status) instead of rejected.
NormalizedCustomer Normalize(const model::Customer& customer, const NormalizeOptions& options = {});

// Normalises a name alone the way Normalize() does for the given kind; returns {name, name_key}
// and fills legal_form/branch of "out" when it is not null.
std::pair<std::string, std::string> NormalizeName(std::string_view name, model::CustomerKind kind,
                                                  CompanyName* out = nullptr);

}  // namespace channelhub::master
