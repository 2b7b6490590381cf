// The mapping engine: mapping files (YAML) that turn a partner's JSON or XML payload into a
// canonical Order, Customer or StockLevel, compiled once at load and run per event.
//
// A mapping file, e.g. mappings/shopify/orders_create.to_canon.yaml:
//
//   format: json                 # json | xml (paths are JSON paths, or XPath for xml)
//   target: order                # order | customer | stock_level
//   keep_unmapped: true          # json: top-level members no rule reads are kept under ext
//   split: $.items[*]            # optional: one entity per element (batch pushes, stock reports)
//   when: $.customer.id          # optional: payloads where this has no value make no entity
//   rules:
//     order_no: { from: $.name, required: true }
//     source.system: { const: shopify }
//     source.id: $.id                            # shorthand for { from: $.id }
//     currency: { from: $.currency, transform: [trim, upper], default: CNY }
//     created_at: { from: $.created_at, transform: [{ datetime_parse: { format: rfc3339 } }] }
//     buyer.name: { concat: [$.customer.last_name, $.customer.first_name] }
//     buyer.email: { from: [$.email, $.customer.email] }          # the first that has a value
//     status: { from: $.financial_status, transform: [{ lookup: { table: { paid: paid },
//                                                         on_missing: default, default: created } }] }
//     lines:
//       each: $.line_items[*]
//       rules:
//         line_no: { index: 1 }
//         sku: sku                                               # relative to the element
//         quantity: { from: quantity, transform: [decimal] }
//
// Every target key is checked against the canonical JSON Schema (mappings/schema/) when the file
// loads, and every problem is reported as "file:line:column: key: message".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/status.hpp"
#include "hub/mapping/mapper.hpp"

namespace channelhub::mapping {

struct MappingDiagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // "rules.lines.rules.quantity.transform[0]"
  std::string message;

  // "file:line:column: key: message"
  std::string ToString() const;
};

class CompiledMapping;

struct MappingLoadResult {
  std::shared_ptr<const CompiledMapping> mapping;  // set when diagnostics is empty
  std::vector<MappingDiagnostic> diagnostics;
};

// Loads, checks and compiles the mapping file at "path" against the schemas in "schema_dir"
// (order.schema.json, ...). Never throws; reports every problem found.
MappingLoadResult LoadMapping(const std::string& path, const std::string& schema_dir);

// True for direction: out (the canonical entity to a destination's JSON or XML).
bool MappingIsOutbound(const CompiledMapping& mapping);
// Whether the mapping's output is XML (an outbound format: xml mapping).
bool MappingWritesXml(const CompiledMapping& mapping);

// "order", "customer" or "stock_level": the entity an inbound mapping makes, or an outbound
// mapping reads.
const std::string& MappingTarget(const CompiledMapping& mapping);
// The file it was loaded from.
const std::string& MappingFile(const CompiledMapping& mapping);

// Runs the mapping on one payload. Returns each canonical entity as compact JSON, checked by the
// canonical model: one, or one per element of split:. A failure is InvalidArgument naming the
// file, line and rule ("orders.yaml:12: lines[1].quantity: decimal: \"x\" is not a decimal").
Result<std::vector<std::string>> RunMappingEntities(const CompiledMapping& mapping,
                                                    std::string_view payload);

// The same as one JSON text: the entity, or a JSON array of them for a split: mapping.
Result<std::string> RunMapping(const CompiledMapping& mapping, std::string_view payload);

// A Mapper (the hub's interface) backed by a compiled mapping file. Events are typed
// com.channelhub.<target>.upserted with subject "<entity>/<source>/<id>".
std::unique_ptr<Mapper> MakeFileMapper(std::shared_ptr<const CompiledMapping> mapping);

}  // namespace channelhub::mapping
