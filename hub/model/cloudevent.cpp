#include "hub/model/cloudevent.hpp"

#include "hub/common/json.hpp"

namespace channelhub::model {

std::string ToJson(const CloudEvent& e) {
  json::JsonWriter w;
  w.StartObject();
  w.Key("specversion");
  w.String("1.0");
  w.Key("id");
  w.String(e.id);
  w.Key("source");
  w.String(e.source);
  w.Key("type");
  w.String(e.type);
  w.MemberTime("time", e.time);
  w.MemberString("subject", e.subject);
  w.MemberString("datacontenttype", e.datacontenttype);
  if (!e.data_json.empty()) {
    w.Key("data");
    w.Raw(e.data_json);
  }
  w.EndObject();
  return w.Take();
}

Result<CloudEvent> CloudEventFromJson(std::string_view text) {
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(text, &doc));
  Result<json::ObjectReader> root = json::ObjectReader::Open(doc, "", json::Nulls::kError);
  if (!root.ok()) return root.status();
  const json::ObjectReader& r = *root;

  std::string specversion;
  CHUB_RETURN_IF_ERROR(r.RequireString("specversion", &specversion));
  if (specversion != "1.0") {
    return json::ErrorAt("specversion", "expected \"1.0\", got \"" + specversion + "\"");
  }
  if (r.Find("data_base64") != nullptr) {
    return json::ErrorAt("data_base64", "binary event data is not supported");
  }
  CloudEvent e;
  e.datacontenttype.clear();
  CHUB_RETURN_IF_ERROR(r.RequireString("id", &e.id));
  CHUB_RETURN_IF_ERROR(r.RequireString("source", &e.source));
  CHUB_RETURN_IF_ERROR(r.RequireString("type", &e.type));
  std::optional<UtcTime> time;
  CHUB_RETURN_IF_ERROR(r.GetTime("time", &time));
  if (!time) return json::ErrorAt("time", "required");
  e.time = *time;
  CHUB_RETURN_IF_ERROR(r.GetString("subject", &e.subject));
  CHUB_RETURN_IF_ERROR(r.GetString("datacontenttype", &e.datacontenttype));
  // "data": null is a value in CloudEvents (distinct from no data), so it is kept as "null".
  const auto data = doc.FindMember("data");
  if (data != doc.MemberEnd()) e.data_json = json::ToCompact(data->value);
  return e;
}

}  // namespace channelhub::model
