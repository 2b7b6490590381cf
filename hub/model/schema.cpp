#include "hub/model/schema.hpp"

#include <rapidjson/schema.h>

#include <fstream>
#include <sstream>

#include "hub/common/json.hpp"

namespace channelhub::model {

struct JsonSchema::Impl {
  explicit Impl(const rapidjson::Document& doc) : schema(doc) {}
  rapidjson::SchemaDocument schema;
};

Result<JsonSchema> JsonSchema::FromText(std::string_view schema_json) {
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(schema_json, &doc));
  if (!doc.IsObject()) return Status::Invalid("a JSON Schema must be an object");
  // SchemaDocument copies what it needs from "doc", which may then go.
  return JsonSchema(std::make_shared<const Impl>(doc));
}

Result<JsonSchema> JsonSchema::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  Result<JsonSchema> schema = FromText(text.str());
  if (!schema.ok()) {
    Status st = schema.status();
    return st.Prepend(path + ": ");
  }
  return schema;
}

Status JsonSchema::Check(std::string_view json_text) const {
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(json_text, &doc));
  rapidjson::SchemaValidator validator(impl_->schema);
  if (doc.Accept(validator)) return Status::Ok();
  rapidjson::StringBuffer where;
  validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
  rapidjson::StringBuffer schema_where;
  validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_where);
  std::string m = where.GetString();
  m += ": fails \"";
  m += validator.GetInvalidSchemaKeyword();
  m += "\" (schema ";
  m += schema_where.GetString();
  m += ')';
  return Status::Invalid(std::move(m));
}

Result<CanonicalSchemas> CanonicalSchemas::Load(const std::string& dir) {
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  Result<JsonSchema> order = JsonSchema::FromFile(prefix + "order.schema.json");
  if (!order.ok()) return order.status();
  Result<JsonSchema> customer = JsonSchema::FromFile(prefix + "customer.schema.json");
  if (!customer.ok()) return customer.status();
  Result<JsonSchema> stock = JsonSchema::FromFile(prefix + "stock_level.schema.json");
  if (!stock.ok()) return stock.status();
  Result<JsonSchema> envelope = JsonSchema::FromFile(prefix + "cloudevent.schema.json");
  if (!envelope.ok()) return envelope.status();
  return CanonicalSchemas(*order, *customer, *stock, *envelope);
}

Status CanonicalSchemas::CheckData(std::string_view event_type, std::string_view data_json) const {
  constexpr std::string_view kPrefix = "com.channelhub.";
  if (event_type.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view rest = event_type.substr(kPrefix.size());
    const std::string_view entity = rest.substr(0, rest.find('.'));
    if (entity == "order") return order_.Check(data_json);
    if (entity == "customer") return customer_.Check(data_json);
    if (entity == "stock_level") return stock_level_.Check(data_json);
  }
  return Status::NotFound("no canonical schema for event type " + std::string(event_type));
}

}  // namespace channelhub::model
