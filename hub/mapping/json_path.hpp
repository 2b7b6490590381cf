// Compiled JSON paths for mapping rules: parsed once when a mapping loads, then evaluated against
// each payload without any string parsing.
//
//   $.name                 member            $.line_items[*].sku   every element's member
//   $.lines[0] $.lines[-1] element (negative: from the end)       $.customer.*   every member value
//   $['key.with dots']     quoted member     sku                   same as $.sku
//   $$.currency            the document root, when the current value is an array element (each:)
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/status.hpp"

namespace channelhub::mapping {

// Immutable once compiled; Select is thread-safe.
class JsonPath {
 public:
  // InvalidArgument naming the 1-based column and what was expected there, e.g.
  // `column 9: expected "]" after an index`.
  static Result<JsonPath> Compile(std::string_view text);

  // Appends every value the path selects to "*out", in document order. "current" is the value
  // a relative path starts from ($); "root" the document ($$). Missing members, indexes out of
  // range and steps into the wrong type select nothing.
  void Select(const rapidjson::Value& root, const rapidjson::Value& current,
              std::vector<const rapidjson::Value*>* out) const;
  // The first selected value, or nullptr.
  const rapidjson::Value* First(const rapidjson::Value& root, const rapidjson::Value& current) const;
  // The first selected value from the value its first step (a member) selected, found by the
  // caller some other way (the mapping runtime indexes the root object's members once per
  // payload). REQUIRES: single() and head() not empty.
  const rapidjson::Value* FirstAfterHead(const rapidjson::Value& head_value) const {
    return FirstFrom(&head_value, 1);
  }

  // The mapping runtime's slot for head() in its per-payload index of the root object's members,
  // or -1 (set by the mapping compiler).
  int head_slot() const { return head_slot_; }
  void set_head_slot(int slot) { head_slot_ = slot; }
  // The same for the per-element index of the list whose element the path is read at (the
  // mapping compiler sets it for relative paths inside each: rules), or -1.
  int item_slot() const { return item_slot_; }
  void set_item_slot(int slot) { item_slot_ = slot; }

  // True when the path can select at most one value (no wildcard).
  bool single() const { return single_; }
  // True for $$ paths.
  bool from_root() const { return from_root_; }
  // The first member name of the path ("line_items" for $.line_items[*].sku), or "" when it
  // starts with an index or wildcard: what keep_unmapped counts as read.
  const std::string& head() const;
  const std::string& text() const { return text_; }

  // The steps, for checking a path against a schema: a member name, or "" for an index or
  // wildcard step into a list.
  std::vector<std::string> StepNames() const;

 private:
  struct Step {
    enum class Kind { kMember, kIndex, kWildcard } kind;
    std::string name;     // kMember
    int64_t index = 0;    // kIndex; negative counts from the end
  };
  void Walk(const rapidjson::Value& v, std::size_t step,
            std::vector<const rapidjson::Value*>* out) const;
  const rapidjson::Value* FirstFrom(const rapidjson::Value* v, std::size_t step) const;

  std::string text_;
  std::vector<Step> steps_;
  bool from_root_ = false;
  bool single_ = true;
  int head_slot_ = -1;
  int item_slot_ = -1;
};

}  // namespace channelhub::mapping
