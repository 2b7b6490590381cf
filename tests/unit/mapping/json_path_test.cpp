#include "hub/mapping/json_path.hpp"

#include <gtest/gtest.h>

#include "hub/common/json.hpp"

namespace channelhub::mapping {
namespace {

class JsonPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(json::Parse(R"({
      "id": 820982911946154508, "name": "#1001", "客户": {"名称": "李娜"},
      "key.with dots": 7,
      "customer": {"first_name": "Na", "last_name": "Li"},
      "line_items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}, {"qty": 5}],
      "empty": []
    })", &doc_).ok());
  }

  std::vector<std::string> Texts(std::string_view path, const rapidjson::Value* current = nullptr) {
    auto p = JsonPath::Compile(path);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    std::vector<const rapidjson::Value*> found;
    if (p.ok()) p->Select(doc_, current ? *current : doc_, &found);
    std::vector<std::string> out;
    for (const auto* v : found) out.push_back(json::ToCompact(*v));
    return out;
  }

  std::string CompileError(std::string_view path) {
    auto p = JsonPath::Compile(path);
    return p.ok() ? "compiled" : p.status().message();
  }

  rapidjson::Document doc_;
};

using Strings = std::vector<std::string>;

TEST_F(JsonPathTest, SelectsMembersAndNestedMembers) {
  EXPECT_EQ(Texts("$.name"), Strings{"\"#1001\""});
  EXPECT_EQ(Texts("$.customer.last_name"), Strings{"\"Li\""});
  EXPECT_EQ(Texts("name"), Strings{"\"#1001\""}) << "a bare name is relative to the current value";
  EXPECT_EQ(Texts("$.id"), Strings{"820982911946154508"}) << "large integers keep every digit";
  EXPECT_EQ(Texts("$.客户.名称"), Strings{"\"李娜\""});
}

TEST_F(JsonPathTest, QuotedNamesMayHoldDotsAndSpaces) {
  EXPECT_EQ(Texts("$['key.with dots']"), Strings{"7"});
  EXPECT_EQ(Texts("$[\"customer\"]['first_name']"), Strings{"\"Na\""});
}

TEST_F(JsonPathTest, IndexesCountFromEitherEnd) {
  EXPECT_EQ(Texts("$.line_items[0].sku"), Strings{"\"A1\""});
  EXPECT_EQ(Texts("$.line_items[-1].qty"), Strings{"5"});
  EXPECT_TRUE(Texts("$.line_items[3]").empty());
  EXPECT_TRUE(Texts("$.line_items[-4]").empty());
}

TEST_F(JsonPathTest, WildcardsSelectEveryElementInOrder) {
  EXPECT_EQ(Texts("$.line_items[*].sku"), (Strings{"\"A1\"", "\"B2\""})) << "missing members select nothing";
  EXPECT_EQ(Texts("$.customer.*"), (Strings{"\"Na\"", "\"Li\""}));
  EXPECT_TRUE(Texts("$.empty[*]").empty());
  EXPECT_FALSE(JsonPath::Compile("$.line_items[*].sku")->single());
  EXPECT_TRUE(JsonPath::Compile("$.line_items[0].sku")->single());
}

TEST_F(JsonPathTest, MissingAndMistypedStepsSelectNothing) {
  EXPECT_TRUE(Texts("$.nope").empty());
  EXPECT_TRUE(Texts("$.name.first").empty()) << "a member of a string";
  EXPECT_TRUE(Texts("$.customer[0]").empty()) << "an index into an object";
}

TEST_F(JsonPathTest, RootAnchorReachesTheDocumentFromAnElement) {
  const rapidjson::Value& line = doc_["line_items"][1];
  EXPECT_EQ(Texts("$.sku", &line), Strings{"\"B2\""});
  EXPECT_EQ(Texts("sku", &line), Strings{"\"B2\""});
  EXPECT_EQ(Texts("$$.name", &line), Strings{"\"#1001\""});
  EXPECT_TRUE(JsonPath::Compile("$$.name")->from_root());
}

TEST_F(JsonPathTest, WholeValue) {
  EXPECT_EQ(Texts("$.customer"), Strings{R"({"first_name":"Na","last_name":"Li"})"});
  EXPECT_EQ(Texts("$").size(), 1u);
}

TEST_F(JsonPathTest, HeadIsTheFirstMember) {
  EXPECT_EQ(JsonPath::Compile("$.line_items[*].sku")->head(), "line_items");
  EXPECT_EQ(JsonPath::Compile("sku")->head(), "sku");
  EXPECT_EQ(JsonPath::Compile("$[0]")->head(), "");
}

TEST_F(JsonPathTest, CompileErrorsNameTheColumn) {
  EXPECT_EQ(CompileError(""), "empty path: write $ for the whole value, or $.member");
  EXPECT_EQ(CompileError("$."), "column 3: expected a member name after \".\" (quote other names: $['a b'])");
  EXPECT_EQ(CompileError("$.a[1"), "column 6: expected \"]\" after an index");
  EXPECT_EQ(CompileError("$.a[x]"), "column 5: expected an index, * or a quoted name inside [ ]");
  EXPECT_EQ(CompileError("$.a['b"), "column 7: unclosed quote: expected '");
  EXPECT_EQ(CompileError("$.a b"), "column 4: unexpected \" \": expected \".\" or \"[\"");
  EXPECT_EQ(CompileError("#x"), "column 1: a path starts with $, $$ or a member name");
  EXPECT_EQ(CompileError("$.a[*"), "column 6: expected \"]\" after \"[*\"");
  EXPECT_EQ(CompileError("$.a[99999999999]"), "column 5: index is too large");
}

}  // namespace
}  // namespace channelhub::mapping
