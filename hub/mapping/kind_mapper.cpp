#include "hub/mapping/kind_mapper.hpp"

#include <pugixml.hpp>

namespace channelhub::mapping {
namespace {

class KindMapper final : public Mapper {
 public:
  explicit KindMapper(std::map<std::string, std::vector<std::unique_ptr<Mapper>>> by_kind)
      : by_kind_(std::move(by_kind)) {}

  Result<std::vector<MappedEvent>> Map(const InboundPayload& in) const override {
    const std::string kind = PayloadKind(in);
    auto it = by_kind_.find(kind);
    if (it == by_kind_.end()) it = by_kind_.find("*");
    if (it == by_kind_.end()) {
      std::string known;
      for (const auto& [k, v] : by_kind_) known += (known.empty() ? "" : ", ") + k;
      return Status::Invalid("no mapping for payload kind \"" + kind + "\" (this source maps: " +
                             known + "); add it under the source's mapping:");
    }
    std::vector<MappedEvent> out;
    for (const auto& m : it->second) {
      auto events = m->Map(in);
      if (!events.ok()) return events.status();
      for (auto& e : *events) out.push_back(std::move(e));
    }
    return out;
  }

 private:
  std::map<std::string, std::vector<std::unique_ptr<Mapper>>> by_kind_;
};

}  // namespace

std::string PayloadKind(const InboundPayload& in) {
  if (!in.topic.empty()) return std::string(in.topic);
  if (in.content_type.find("xml") == std::string_view::npos) return "";
  pugi::xml_document doc;
  // Only the start of the document is needed for the root's name.
  const std::size_t n = std::min<std::size_t>(in.body.size(), 4096);
  doc.load_buffer(in.body.data(), n, pugi::parse_minimal);
  return doc.document_element().name();
}

std::unique_ptr<Mapper> MakeKindMapper(
    std::map<std::string, std::vector<std::unique_ptr<Mapper>>> by_kind) {
  return std::make_unique<KindMapper>(std::move(by_kind));
}

}  // namespace channelhub::mapping
