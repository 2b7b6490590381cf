#include "hub/model/stock_level.hpp"

#include "hub/model/json_codec.hpp"

namespace channelhub::model {

Status Validate(const StockLevel& s) {
  if (s.warehouse.empty()) return json::ErrorAt("warehouse", "required");
  if (s.sku.empty()) return json::ErrorAt("sku", "required");
  CHUB_RETURN_IF_ERROR(internal::CheckSourceRef("source", s.source, /*id_required=*/false));
  return internal::CheckExt("ext", s.ext_json);
}

std::string ToJson(const StockLevel& s) {
  json::JsonWriter w;
  w.StartObject();
  w.MemberString("warehouse", s.warehouse);
  w.MemberString("sku", s.sku);
  w.MemberDecimal("on_hand", s.on_hand);
  w.MemberDecimal("available", s.available);
  w.MemberDecimal("reserved", s.reserved);
  w.MemberTime("as_of", s.as_of);
  internal::WriteSourceRef(w, "source", s.source);
  internal::WriteExt(w, s.ext_json);
  w.EndObject();
  return w.Take();
}

Result<StockLevel> StockLevelFromJson(std::string_view text) {
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(text, &doc));
  Result<json::ObjectReader> root = json::ObjectReader::Open(doc, "", json::Nulls::kError);
  if (!root.ok()) return root.status();
  const json::ObjectReader& r = *root;
  CHUB_RETURN_IF_ERROR(r.CheckKeys(
      {"warehouse", "sku", "on_hand", "available", "reserved", "as_of", "source", "ext"}));
  StockLevel s;
  CHUB_RETURN_IF_ERROR(r.RequireString("warehouse", &s.warehouse));
  CHUB_RETURN_IF_ERROR(r.RequireString("sku", &s.sku));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("on_hand", &s.on_hand));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("available", &s.available));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("reserved", &s.reserved));
  CHUB_RETURN_IF_ERROR(r.GetTime("as_of", &s.as_of));
  if (r.Find("source") == nullptr) return json::ErrorAt("source", "required");
  CHUB_RETURN_IF_ERROR(internal::ReadSourceRef(r, "source", &s.source));
  CHUB_RETURN_IF_ERROR(internal::ReadExt(r, &s.ext_json));
  CHUB_RETURN_IF_ERROR(Validate(s));
  return s;
}

}  // namespace channelhub::model
