// Internal to hub/model: JSON pieces shared by the entity codecs. Not for use outside hub/model.
#pragma once

#include <string>
#include <string_view>

#include "hub/common/json.hpp"
#include "hub/model/types.hpp"

namespace channelhub::model::internal {

// {"system": ..., "id": ...} under "key", skipped when both are empty.
void WriteSourceRef(json::JsonWriter& w, std::string_view key, const SourceRef& ref);
// Reads the object under "key" (absent leaves *out empty). "system" is required in the object.
Status ReadSourceRef(const json::ObjectReader& parent, std::string_view key, SourceRef* out);
// InvalidArgument "<path>.system: required" / "<path>.id: required" as asked.
Status CheckSourceRef(std::string_view path, const SourceRef& ref, bool id_required);

// The address as an object (every member omitted when empty).
void WriteAddress(json::JsonWriter& w, const Address& a);
Status ReadAddress(const rapidjson::Value& v, std::string_view path, Address* out);
Status CheckAddress(std::string_view path, const Address& a);

// "ext": the object text verbatim after a check that it is one; {"unparsed": text} otherwise.
void WriteExt(json::JsonWriter& w, const std::string& ext_json);
// Reads "ext" (must be an object) as compact text.
Status ReadExt(const json::ObjectReader& parent, std::string* ext_json);
// OK when "ext_json" is empty or the text of one JSON object.
Status CheckExt(std::string_view path, const std::string& ext_json);

Status CheckPhone(std::string_view path, std::string_view phone);
Status CheckEmail(std::string_view path, std::string_view email);
Status CheckCurrency(std::string_view path, std::string_view currency);

}  // namespace channelhub::model::internal
