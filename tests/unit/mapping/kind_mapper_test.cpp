#include "hub/mapping/kind_mapper.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace channelhub::mapping {
namespace {

// Emits one event whose type names the mapper, so that tests see which ran.
class Named final : public Mapper {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  Result<std::vector<MappedEvent>> Map(const InboundPayload&) const override {
    return std::vector<MappedEvent>{{name_, "s", "{}"}};
  }

 private:
  std::string name_;
};

std::vector<std::unique_ptr<Mapper>> Mappers(std::initializer_list<const char*> names) {
  std::vector<std::unique_ptr<Mapper>> out;
  for (const char* n : names) out.push_back(std::make_unique<Named>(n));
  return out;
}

std::vector<std::string> Types(const Mapper& m, std::string_view topic, std::string_view ct,
                               std::string_view body) {
  auto r = m.Map(InboundPayload{"src", "e", ct, body, topic});
  if (!r.ok()) return {"error: " + r.status().message()};
  std::vector<std::string> out;
  for (const auto& e : *r) out.push_back(e.type);
  return out;
}

TEST(KindMapperTest, ChoosesByTopicThenXmlRootThenStar) {
  std::map<std::string, std::vector<std::unique_ptr<Mapper>>> by_kind;
  by_kind["orders/create"] = Mappers({"order", "customer"});
  by_kind["DEBMAS07"] = Mappers({"debmas"});
  by_kind["*"] = Mappers({"fallback"});
  auto m = MakeKindMapper(std::move(by_kind));
  using V = std::vector<std::string>;
  EXPECT_EQ(Types(*m, "orders/create", "application/json", "{}"), (V{"order", "customer"}));
  EXPECT_EQ(Types(*m, "", "application/xml", "<?xml version=\"1.0\"?><DEBMAS07><IDOC/></DEBMAS07>"), V{"debmas"});
  EXPECT_EQ(Types(*m, "orders/paid", "application/json", "{}"), V{"fallback"});
  EXPECT_EQ(Types(*m, "", "application/json", "{}"), V{"fallback"});
}

TEST(KindMapperTest, AnUnknownKindWithoutStarNamesTheConfiguredKinds) {
  std::map<std::string, std::vector<std::unique_ptr<Mapper>>> by_kind;
  by_kind["orders/create"] = Mappers({"order"});
  auto m = MakeKindMapper(std::move(by_kind));
  EXPECT_THAT(Types(*m, "refunds/create", "application/json", "{}"),
              ::testing::ElementsAre("error: no mapping for payload kind \"refunds/create\" (this source maps: "
                                     "orders/create); add it under the source's mapping:"));
}

}  // namespace
}  // namespace channelhub::mapping
