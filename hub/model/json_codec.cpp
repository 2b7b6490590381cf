#include "hub/model/json_codec.hpp"

namespace channelhub::model {

bool IsE164(std::string_view phone) {
  if (phone.size() < 8 || phone.size() > 16 || phone[0] != '+' || phone[1] < '1' || phone[1] > '9')
    return false;
  for (size_t i = 2; i < phone.size(); ++i) {
    if (phone[i] < '0' || phone[i] > '9') return false;
  }
  return true;
}

bool IsEmailLike(std::string_view email) {
  const size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size()) return false;
  if (email.find('@', at + 1) != std::string_view::npos) return false;
  return email.find_first_of(" \t\r\n") == std::string_view::npos;
}

namespace {

bool UpperLetters(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

bool IsCurrencyCode(std::string_view code) { return UpperLetters(code, 3); }
bool IsCountryCode(std::string_view code) { return UpperLetters(code, 2); }

namespace internal {

void WriteSourceRef(json::JsonWriter& w, std::string_view key, const SourceRef& ref) {
  if (ref.empty()) return;
  w.Key(key);
  w.StartObject();
  w.MemberString("system", ref.system);
  w.MemberString("id", ref.id);
  w.EndObject();
}

Status ReadSourceRef(const json::ObjectReader& parent, std::string_view key, SourceRef* out) {
  std::optional<json::ObjectReader> r;
  CHUB_RETURN_IF_ERROR(parent.GetObject(key, &r));
  if (!r) return Status::Ok();
  CHUB_RETURN_IF_ERROR(r->CheckKeys({"system", "id"}));
  CHUB_RETURN_IF_ERROR(r->RequireString("system", &out->system));
  return r->GetString("id", &out->id);
}

Status CheckSourceRef(std::string_view path, const SourceRef& ref, bool id_required) {
  if (ref.system.empty()) return json::ErrorAt(json::JoinKey(path, "system"), "required");
  if (id_required && ref.id.empty()) return json::ErrorAt(json::JoinKey(path, "id"), "required");
  return Status::Ok();
}

void WriteAddress(json::JsonWriter& w, const Address& a) {
  w.StartObject();
  w.MemberString("province", a.province);
  w.MemberString("city", a.city);
  w.MemberString("district", a.district);
  w.MemberString("line", a.line);
  w.MemberString("postcode", a.postcode);
  w.MemberString("country", a.country);
  w.EndObject();
}

Status ReadAddress(const rapidjson::Value& v, std::string_view path, Address* out) {
  Result<json::ObjectReader> r =
      json::ObjectReader::Open(v, std::string(path), json::Nulls::kError);
  if (!r.ok()) return r.status();
  CHUB_RETURN_IF_ERROR(
      r->CheckKeys({"province", "city", "district", "line", "postcode", "country"}));
  CHUB_RETURN_IF_ERROR(r->GetString("province", &out->province));
  CHUB_RETURN_IF_ERROR(r->GetString("city", &out->city));
  CHUB_RETURN_IF_ERROR(r->GetString("district", &out->district));
  CHUB_RETURN_IF_ERROR(r->GetString("line", &out->line));
  CHUB_RETURN_IF_ERROR(r->GetString("postcode", &out->postcode));
  return r->GetString("country", &out->country);
}

Status CheckAddress(std::string_view path, const Address& a) {
  if (!a.country.empty() && !IsCountryCode(a.country)) {
    return json::ErrorAt(
        json::JoinKey(path, "country"),
        "expected an ISO 3166-1 alpha-2 code such as CN, got \"" + a.country + "\"");
  }
  return Status::Ok();
}

void WriteExt(json::JsonWriter& w, const std::string& ext_json) {
  if (ext_json.empty()) return;
  w.Key("ext");
  if (CheckExt("ext", ext_json).ok()) {
    w.Raw(ext_json);
  } else {
    // Keep what we were given, never drop it, and still write valid JSON.
    w.StartObject();
    w.MemberString("unparsed", ext_json);
    w.EndObject();
  }
}

Status ReadExt(const json::ObjectReader& parent, std::string* ext_json) {
  const rapidjson::Value* v = parent.Find("ext");
  if (v == nullptr) return Status::Ok();
  if (!v->IsObject()) return json::TypeErrorAt(parent.PathOf("ext"), "an object", *v);
  *ext_json = v->MemberCount() == 0 ? std::string() : json::ToCompact(*v);
  return Status::Ok();
}

Status CheckExt(std::string_view path, const std::string& ext_json) {
  if (ext_json.empty()) return Status::Ok();
  rapidjson::Document doc;
  Status st = json::Parse(ext_json, &doc);
  if (!st.ok()) return json::ErrorAt(path, st.message());
  if (!doc.IsObject()) return json::TypeErrorAt(path, "an object", doc);
  return Status::Ok();
}

Status CheckPhone(std::string_view path, std::string_view phone) {
  if (IsE164(phone)) return Status::Ok();
  return json::ErrorAt(path, "expected an E.164 phone number such as +8613800138000, got \"" +
                                 std::string(phone) + "\"");
}

Status CheckEmail(std::string_view path, std::string_view email) {
  if (IsEmailLike(email)) return Status::Ok();
  return json::ErrorAt(path, "expected an email address, got \"" + std::string(email) + "\"");
}

Status CheckCurrency(std::string_view path, std::string_view currency) {
  if (IsCurrencyCode(currency)) return Status::Ok();
  return json::ErrorAt(path, "expected an ISO 4217 currency code such as CNY, got \"" +
                                 std::string(currency) + "\"");
}

}  // namespace internal
}  // namespace channelhub::model
