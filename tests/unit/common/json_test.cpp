#include "hub/common/json.hpp"

#include <gtest/gtest.h>

namespace channelhub::json {
namespace {

TEST(JsonTest, ParseReportsOffsetAndReason) {
  rapidjson::Document doc;
  EXPECT_TRUE(Parse(R"({"a":[1,2]})", &doc).ok());
  EXPECT_EQ(Parse("{\"a\":}", &doc).message(), "invalid JSON at offset 5 (line 1, column 6): Invalid value.");
  EXPECT_EQ(Parse("{} x", &doc).message(),
            "invalid JSON at offset 3 (line 1, column 4): The document root must not be followed by other values.");
  EXPECT_EQ(Parse("", &doc).message(), "invalid JSON: empty text");
  EXPECT_EQ(Parse("\"\xff\"", &doc).message(),
            "invalid JSON at offset 1 (line 1, column 2): Invalid encoding in string.");
}

TEST(JsonTest, ParseRefusesDeepNestingBeforeRecursing) {
  rapidjson::Document doc;
  const std::string ok = std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']');
  EXPECT_TRUE(Parse(ok, &doc).ok());
  const std::string deep(100000, '[');
  EXPECT_EQ(Parse(deep, &doc).message(), "invalid JSON: nested deeper than 64 levels");
  // Brackets inside strings do not count, nor do escaped quotes end the string.
  const std::string in_string = "[\"" + std::string(200, '[') + "\\\"" + "\"]";
  EXPECT_TRUE(Parse(in_string, &doc).ok());
}

TEST(JsonTest, ReaderNamesTheField) {
  rapidjson::Document doc;
  ASSERT_TRUE(
      Parse(R"({"n":12,"s":"x","d":"1e3","t":"2021-02-30T00:00:00Z","o":{"k":true},"z":null})",
            &doc)
          .ok());
  Result<ObjectReader> r = ObjectReader::Open(doc, "", Nulls::kAbsent);
  ASSERT_TRUE(r.ok());
  std::string s;
  EXPECT_EQ(r->GetString("n", &s).message(), "n: expected a string, got number");
  std::optional<Decimal> d;
  EXPECT_EQ(r->GetDecimal("n", &d).message(), "n: expected a decimal string, got number");
  EXPECT_EQ(r->GetDecimal("d", &d).message(),
            "d: invalid decimal \"1e3\": exponent notation is not supported");
  std::optional<UtcTime> t;
  EXPECT_EQ(r->GetTime("t", &t).message(),
            "t: invalid time \"2021-02-30T00:00:00Z\": there is no day 30 in February 2021");
  std::optional<ObjectReader> o;
  ASSERT_TRUE(r->GetObject("o", &o).ok());
  EXPECT_EQ(o->GetString("k", &s).message(), "o.k: expected a string, got true");
  EXPECT_EQ(r->RequireString("missing", &s).message(), "missing: required");
  EXPECT_TRUE(r->GetString("z", &s).ok());  // null is absent under Nulls::kAbsent
  EXPECT_EQ(r->CheckKeys({"n", "s", "d", "t", "o"}).message(), "z: unknown key");

  Result<ObjectReader> strict = ObjectReader::Open(doc, "", Nulls::kError);
  EXPECT_EQ(strict->GetString("z", &s).message(), "z: expected a string, got null");

  rapidjson::Document arr;
  ASSERT_TRUE(Parse("[1]", &arr).ok());
  EXPECT_EQ(ObjectReader::Open(arr, "", Nulls::kAbsent).status().message(),
            "expected a JSON object, got array");
  EXPECT_EQ(ObjectReader::Open(arr, "lines[3]", Nulls::kAbsent).status().message(),
            "lines[3]: expected an object, got array");
}

TEST(JsonTest, WriterSkipsAbsentValues) {
  JsonWriter w;
  w.StartObject();
  w.MemberString("a", "");
  w.MemberString("b", "中文 \"q\"");
  w.MemberDecimal("c", std::optional<Decimal>());
  w.MemberDecimal("d", Decimal::FromCents(100));
  w.MemberStrings("e", {});
  w.MemberTime("f", UtcTime{});
  w.Key("g");
  w.Raw(R"({"x":[1,2]})");
  w.EndObject();
  EXPECT_EQ(w.Take(),
            R"({"b":"中文 \"q\"","d":"1.00","f":"1970-01-01T00:00:00Z","g":{"x":[1,2]}})");
}

TEST(JsonTest, LineColumnCountsLinesAndBytes) {
  EXPECT_EQ(LineColumn("{\n  \"a\": x\n}", 9), "line 2, column 8");
  EXPECT_EQ(LineColumn("abc", 0), "line 1, column 1");
  EXPECT_EQ(LineColumn("a\n", 2), "line 2, column 1");
  EXPECT_EQ(LineColumn("ab", 99), "line 1, column 3");  // past the end: the end
}

}  // namespace
}  // namespace channelhub::json
