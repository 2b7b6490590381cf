#include "hub/model/customer.hpp"

#include "hub/model/json_codec.hpp"

namespace channelhub::model {

std::string_view CustomerKindName(CustomerKind kind) {
  switch (kind) {
    case CustomerKind::kPerson:
      return "person";
    case CustomerKind::kCompany:
      return "company";
    case CustomerKind::kDealer:
      return "dealer";
  }
  return "person";
}

std::optional<CustomerKind> ParseCustomerKind(std::string_view name) {
  for (CustomerKind k : {CustomerKind::kPerson, CustomerKind::kCompany, CustomerKind::kDealer}) {
    if (CustomerKindName(k) == name) return k;
  }
  return std::nullopt;
}

namespace {

bool IsCreditCodeChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

}  // namespace

Status Validate(const Customer& c) {
  CHUB_RETURN_IF_ERROR(internal::CheckSourceRef("source", c.source, /*id_required=*/true));
  for (size_t i = 0; i < c.mobiles.size(); ++i) {
    CHUB_RETURN_IF_ERROR(internal::CheckPhone(json::JoinIndex("mobiles", i), c.mobiles[i]));
  }
  for (size_t i = 0; i < c.emails.size(); ++i) {
    CHUB_RETURN_IF_ERROR(internal::CheckEmail(json::JoinIndex("emails", i), c.emails[i]));
  }
  if (!c.credit_code.empty()) {
    bool ok = c.credit_code.size() == 18;
    for (char ch : c.credit_code) ok = ok && IsCreditCodeChar(ch);
    if (!ok) {
      return json::ErrorAt(
          "credit_code", "expected 18 digits or upper-case letters, got \"" + c.credit_code + "\"");
    }
  }
  for (size_t i = 0; i < c.addresses.size(); ++i) {
    CHUB_RETURN_IF_ERROR(internal::CheckAddress(json::JoinIndex("addresses", i), c.addresses[i]));
  }
  if (c.credit && !c.credit->currency.empty()) {
    CHUB_RETURN_IF_ERROR(internal::CheckCurrency("credit.currency", c.credit->currency));
  }
  return internal::CheckExt("ext", c.ext_json);
}

std::string ToJson(const Customer& c) {
  json::JsonWriter w;
  w.StartObject();
  w.Key("kind");
  w.String(CustomerKindName(c.kind));
  w.MemberString("name", c.name);
  w.MemberStrings("mobiles", c.mobiles);
  w.MemberStrings("emails", c.emails);
  if (!c.wecom.empty()) {
    w.Key("wecom");
    w.StartObject();
    w.MemberString("external_userid", c.wecom.external_userid);
    w.MemberString("unionid", c.wecom.unionid);
    w.EndObject();
  }
  w.MemberString("credit_code", c.credit_code);
  if (!c.addresses.empty()) {
    w.Key("addresses");
    w.StartArray();
    for (const Address& a : c.addresses) internal::WriteAddress(w, a);
    w.EndArray();
  }
  w.MemberString("region", c.region);
  w.MemberString("tier", c.tier);
  if (c.credit) {
    w.Key("credit");
    w.StartObject();
    w.MemberDecimal("limit", c.credit->limit);
    w.MemberDecimal("used", c.credit->used);
    w.MemberString("currency", c.credit->currency);
    w.EndObject();
  }
  w.MemberStrings("tags", c.tags);
  w.MemberTime("updated_at", c.updated_at);
  internal::WriteSourceRef(w, "source", c.source);
  internal::WriteExt(w, c.ext_json);
  w.EndObject();
  return w.Take();
}

Result<Customer> CustomerFromJson(std::string_view text) {
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(text, &doc));
  Result<json::ObjectReader> root = json::ObjectReader::Open(doc, "", json::Nulls::kError);
  if (!root.ok()) return root.status();
  const json::ObjectReader& r = *root;
  CHUB_RETURN_IF_ERROR(
      r.CheckKeys({"kind", "name", "mobiles", "emails", "wecom", "credit_code", "addresses",
                   "region", "tier", "credit", "tags", "updated_at", "source", "ext"}));
  Customer c;
  std::string kind;
  CHUB_RETURN_IF_ERROR(r.RequireString("kind", &kind));
  const std::optional<CustomerKind> k = ParseCustomerKind(kind);
  if (!k) return json::ErrorAt("kind", "expected person, company or dealer, got \"" + kind + "\"");
  c.kind = *k;
  CHUB_RETURN_IF_ERROR(r.GetString("name", &c.name));
  CHUB_RETURN_IF_ERROR(r.GetStringArray("mobiles", &c.mobiles));
  CHUB_RETURN_IF_ERROR(r.GetStringArray("emails", &c.emails));
  std::optional<json::ObjectReader> wecom;
  CHUB_RETURN_IF_ERROR(r.GetObject("wecom", &wecom));
  if (wecom) {
    CHUB_RETURN_IF_ERROR(wecom->CheckKeys({"external_userid", "unionid"}));
    CHUB_RETURN_IF_ERROR(wecom->GetString("external_userid", &c.wecom.external_userid));
    CHUB_RETURN_IF_ERROR(wecom->GetString("unionid", &c.wecom.unionid));
  }
  CHUB_RETURN_IF_ERROR(r.GetString("credit_code", &c.credit_code));
  const rapidjson::Value* addresses = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("addresses", &addresses));
  if (addresses != nullptr) {
    for (rapidjson::SizeType i = 0; i < addresses->Size(); ++i) {
      Address a;
      CHUB_RETURN_IF_ERROR(
          internal::ReadAddress((*addresses)[i], json::JoinIndex("addresses", i), &a));
      c.addresses.push_back(std::move(a));
    }
  }
  CHUB_RETURN_IF_ERROR(r.GetString("region", &c.region));
  CHUB_RETURN_IF_ERROR(r.GetString("tier", &c.tier));
  std::optional<json::ObjectReader> credit;
  CHUB_RETURN_IF_ERROR(r.GetObject("credit", &credit));
  if (credit) {
    CHUB_RETURN_IF_ERROR(credit->CheckKeys({"limit", "used", "currency"}));
    Credit cr;
    CHUB_RETURN_IF_ERROR(credit->GetDecimal("limit", &cr.limit));
    CHUB_RETURN_IF_ERROR(credit->GetDecimal("used", &cr.used));
    CHUB_RETURN_IF_ERROR(credit->GetString("currency", &cr.currency));
    c.credit = std::move(cr);
  }
  CHUB_RETURN_IF_ERROR(r.GetStringArray("tags", &c.tags));
  CHUB_RETURN_IF_ERROR(r.GetTime("updated_at", &c.updated_at));
  if (r.Find("source") == nullptr) return json::ErrorAt("source", "required");
  CHUB_RETURN_IF_ERROR(internal::ReadSourceRef(r, "source", &c.source));
  CHUB_RETURN_IF_ERROR(internal::ReadExt(r, &c.ext_json));
  CHUB_RETURN_IF_ERROR(Validate(c));
  return c;
}

}  // namespace channelhub::model
