// JSON Schema checks of canonical events against mappings/schema/*.schema.json, with RapidJSON's
// validator (it implements the draft-04 core keywords; the schemas use no others, and "format"
// is checked through a pattern instead).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "hub/common/status.hpp"

namespace channelhub::model {

// A compiled JSON Schema. Immutable after loading; Check() is safe to call from several threads
// at once (each call builds its own validator). Cheap to copy (shared).
class JsonSchema {
 public:
  // InvalidArgument when the text is not JSON.
  static Result<JsonSchema> FromText(std::string_view schema_json);
  // IoError when the file cannot be read; InvalidArgument ("<path>: ...") when it is not JSON.
  static Result<JsonSchema> FromFile(const std::string& path);

  // OK when "json" is valid; otherwise InvalidArgument naming the failing place in the document
  // (a JSON pointer), the keyword and the schema location:
  //   "#/lines/1/quantity: fails \"pattern\" (schema #/definitions/decimal)".
  Status Check(std::string_view json) const;

 private:
  struct Impl;
  explicit JsonSchema(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The four canonical schemas, by the entity an event type names.
class CanonicalSchemas {
 public:
  // Loads order, customer, stock_level and cloudevent .schema.json from "dir".
  static Result<CanonicalSchemas> Load(const std::string& dir);

  // Checks an event's data against the schema of the entity in its type:
  // com.channelhub.order.* -> order, com.channelhub.customer.* -> customer,
  // com.channelhub.stock_level.* -> stock_level. NotFound for any other type.
  Status CheckData(std::string_view event_type, std::string_view data_json) const;
  // Checks a whole CloudEvents envelope (not its data).
  Status CheckEnvelope(std::string_view cloudevent_json) const {
    return cloudevent_.Check(cloudevent_json);
  }

  const JsonSchema& order() const { return order_; }
  const JsonSchema& customer() const { return customer_; }
  const JsonSchema& stock_level() const { return stock_level_; }
  const JsonSchema& cloudevent() const { return cloudevent_; }

 private:
  CanonicalSchemas(JsonSchema order, JsonSchema customer, JsonSchema stock_level,
                   JsonSchema cloudevent)
      : order_(std::move(order)),
        customer_(std::move(customer)),
        stock_level_(std::move(stock_level)),
        cloudevent_(std::move(cloudevent)) {}

  JsonSchema order_;
  JsonSchema customer_;
  JsonSchema stock_level_;
  JsonSchema cloudevent_;
};

}  // namespace channelhub::model
