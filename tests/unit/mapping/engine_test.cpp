#include "hub/mapping/engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "hub/common/json.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "hub/model/stock_level.hpp"

namespace channelhub::mapping {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Writes mapping files into a temporary folder and loads them against the real schemas.
class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chub-engine-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }

  MappingLoadResult Load(const std::string& yaml) {
    return LoadMapping(Write("m.yaml", yaml), std::string(CHUB_SOURCE_DIR) + "/mappings/schema");
  }

  // The diagnostics with the folder left out: "m.yaml:3:5: rules.x: message".
  std::vector<std::string> Errors(const std::string& yaml) {
    std::vector<std::string> out;
    for (const auto& d : Load(yaml).diagnostics) {
      std::string s = d.ToString();
      if (s.starts_with(dir_ + "/")) s.erase(0, dir_.size() + 1);
      out.push_back(s);
    }
    return out;
  }

  // Loads "yaml" (which must be valid) and maps "payload"; returns the JSON or the error.
  std::string Run(const std::string& yaml, const std::string& payload) {
    auto loaded = Load(yaml);
    if (!loaded.mapping) {
      std::string all;
      for (const auto& d : loaded.diagnostics) all += d.ToString() + "\n";
      ADD_FAILURE() << all;
      return "";
    }
    auto out = RunMapping(*loaded.mapping, payload);
    if (!out.ok()) {
      std::string m = out.status().message();
      if (m.starts_with(dir_ + "/")) m.erase(0, dir_.size() + 1);
      return "error: " + m;
    }
    return *out;
  }

  std::string dir_;
};

constexpr char kOrderHead[] = R"(format: json
target: order
rules:
  order_no: { from: $.no, required: true }
  source.system: { const: erp }
  channel: { const: dealer }
  status: { const: created }
  currency: { const: CNY }
  totals.total: { from: $.total, transform: [decimal] }
)";

// One order line per element of $.items, for the tests about other rules.
constexpr char kLines[] = R"(  lines:
    each: $.items[*]
    rules:
      line_no: { index: 1 }
      quantity: { const: "1" }
      unit_price: { const: "1" }
      amount: { const: "1" }
)";
constexpr char kItem[] = R"("items":[{}])";

// An XML order mapping: "order_no_rule" and fixed values for the other required fields.
std::string XmlOrder(const std::string& order_no_rule) {
  return "format: xml\ntarget: order\nrules:\n  " + order_no_rule +
         "\n  source.system: { const: erp }\n  channel: { const: dealer }\n  status: { const: created }\n"
         "  currency: { const: CNY }\n  totals.total: { const: \"1\" }\n";
}

TEST_F(EngineTest, MapsScalarsNestedKeysAndLists) {
  const std::string yaml = std::string(kOrderHead) + R"(  buyer.name: { concat: [$.last, $.first] }
  buyer.email: { from: [$.mail, $.contact.mail], transform: [email] }
  created_at: { from: $.at, transform: [{ datetime_parse: { format: "%Y-%m-%d %H:%M:%S" } }] }
  lines:
    each: $.items[*]
    rules:
      line_no: { index: 1 }
      sku: code
      quantity: { from: qty, transform: [decimal] }
      unit_price: { from: price, transform: [decimal] }
      amount: { math: "price * qty - off", transform: [{ decimal: { scale: 2 } }] }
      name: { from: $$.no }
)";
  const std::string out = Run(yaml, R"({"no":"SO-1","total":"30.5","last":"王","first":"芳",
    "contact":{"mail":"Wang@Example.CN"},"at":"2025-03-01 08:00:00",
    "items":[{"code":"A","qty":2,"price":"10.25","off":"0"},{"code":"B","qty":1,"price":"10","off":"0.5"}]})");
  EXPECT_EQ(out,
            R"({"order_no":"SO-1","source":{"system":"erp"},"channel":"dealer","buyer":{"name":"王芳",)"
            R"("email":"wang@example.cn"},"status":"created","currency":"CNY","lines":[{"line_no":1,)"
            R"("sku":"A","name":"SO-1","quantity":"2","unit_price":"10.25","amount":"20.50"},{"line_no":2,)"
            R"("sku":"B","name":"SO-1","quantity":"1","unit_price":"10","amount":"9.50"}],)"
            R"("totals":{"total":"30.5"},"created_at":"2025-03-01T00:00:00Z"})");
}

// A decimal rule with one transform takes a fast path (the payload's text straight into the
// output); every case it does not take must come out as the general path gives it.
TEST_F(EngineTest, DecimalRulesGiveTheSameResultOnEveryPath) {
  const std::string yaml = std::string("format: json\ntarget: order\nrules:\n") +
                           R"(  order_no: { from: $.no, required: true }
  source.system: { const: erp }
  channel: { const: dealer }
  status: { const: created }
  currency: { const: CNY }
  totals.total: { from: [$.a, $.b], transform: [{ decimal: { scale: 2, rounding: half_even } }], required: true }
  totals.tax: { from: $.t, transform: [{ decimal: { thousands: "," } }] }
)";
  auto total = [&](const std::string& fields) {
    const std::string out = Run(yaml, "{\"no\":\"1\"," + fields + "}");
    const auto at = out.find("\"totals\":");
    return at == std::string::npos ? out : out.substr(at);
  };
  EXPECT_EQ(total(R"("a":"2.345")"), R"("totals":{"total":"2.34"}})") << "a string";
  EXPECT_EQ(total(R"("a":"2.355")"), R"("totals":{"total":"2.36"}})");
  EXPECT_EQ(total(R"("a":7)"), R"("totals":{"total":"7.00"}})") << "an integer";
  EXPECT_EQ(total(R"("a":-7000000000)"), R"("totals":{"total":"-7000000000.00"}})");
  EXPECT_EQ(total(R"("a":2.5)"), R"("totals":{"total":"2.50"}})") << "a double: the general path";
  EXPECT_EQ(total(R"("a":"","b":"1.5")"), R"("totals":{"total":"1.50"}})") << "empty: the next path";
  EXPECT_EQ(total(R"("a":null,"b":3)"), R"("totals":{"total":"3.00"}})");
  EXPECT_EQ(total(R"("a":"2.345","t":"1,234.5")"), R"("totals":{"tax":"1234.5","total":"2.34"}})")
      << "grouping separators: the general path";
  EXPECT_THAT(total(R"("a":"12,5")"), HasSubstr("m.yaml:9: totals.total: decimal: \"12,5\" is not a decimal"));
  EXPECT_THAT(total(R"("a":" 1")"), HasSubstr("totals.total: decimal: \" 1\" is not a decimal"));
  EXPECT_THAT(total(R"("a":true)"), HasSubstr("totals.total: decimal: expects string, decimal, integer, got boolean"));
  EXPECT_THAT(total(R"("b":"")"), HasSubstr("totals.total: required, but $.a has no value"));
}

// math: operands are read from the payload as strings or integers directly, anything else
// through its text; every kind must give what it gave before.
TEST_F(EngineTest, MathReadsEveryKindOfOperand) {
  const std::string yaml = std::string(kOrderHead) + R"(  totals.tax: { math: "$.a * $.b - $.c" }
)";
  auto tax = [&](const std::string& fields) {
    const std::string out = Run(yaml, "{\"no\":\"1\",\"total\":\"1\"," + fields + "}");
    const auto at = out.find("\"tax\":");
    return at == std::string::npos ? out : out.substr(at, out.find_first_of(",}", at) - at);
  };
  EXPECT_EQ(tax(R"("a":"2.5","b":4,"c":"0.25")"), R"("tax":"9.75")") << "strings and an integer";
  EXPECT_EQ(tax(R"("a":2.5,"b":-4,"c":0)"), R"("tax":"-10.0")") << "a double, through its text";
  EXPECT_EQ(tax(R"("a":"9223372036854775807","b":1,"c":1)"), R"("tax":"9223372036854775806")");
  EXPECT_EQ(tax(R"("a":18446744073709551615,"b":1,"c":0)"), R"("tax":"18446744073709551615")")
      << "above int64: through its text";
  EXPECT_THAT(tax(R"("a":"2","b":null,"c":"1")"), ::testing::Not(HasSubstr("tax"))) << "a null operand: no value";
  EXPECT_THAT(tax(R"("a":"2","b":"","c":"1")"), ::testing::Not(HasSubstr("tax"))) << "an empty one too";
  EXPECT_THAT(tax(R"("a":"2","c":"1")"), ::testing::Not(HasSubstr("tax"))) << "and a missing one";
  EXPECT_THAT(tax(R"("a":"2","b":" 1","c":"1")"), HasSubstr("totals.tax: math: \" 1\" is not a decimal"));
  EXPECT_THAT(tax(R"("a":"2","b":true,"c":"1")"), HasSubstr("totals.tax: math: \"true\" is not a decimal"));
  EXPECT_THAT(tax(R"("a":"2","b":{"x":1},"c":"1")"), HasSubstr(R"(totals.tax: math: "{\"x\":1}" is not a decimal)"));
}

// math: through one decimal transform the result is written straight out; whatever that path
// does not take (no value, a default, another transform, an error) gives what it gave before.
TEST_F(EngineTest, MathThroughItsTransform) {
  auto tax = [&](const std::string& rule, const std::string& fields) {
    const std::string out =
        Run(std::string(kOrderHead) + "  totals.tax: " + rule + "\n", "{\"no\":\"1\",\"total\":\"1\"," + fields + "}");
    const auto at = out.find("\"tax\":");
    return at == std::string::npos ? out : out.substr(at, out.find_first_of(",}", at) - at);
  };
  const std::string even = R"({ math: "$.a * $.b", transform: [{ decimal: { scale: 2, rounding: half_even } }] })";
  EXPECT_EQ(tax(even, R"("a":"2.345","b":1)"), R"("tax":"2.34")");
  EXPECT_EQ(tax(even, R"("a":"2.355","b":"1")"), R"("tax":"2.36")");
  EXPECT_EQ(tax(even, R"("a":"-0.5","b":"0.01")"), R"("tax":"0.00")") << "rounded to zero";
  const std::string up = R"({ math: "$.a - $.b", transform: [{ decimal: { scale: 0, rounding: up } }] })";
  EXPECT_EQ(tax(up, R"("a":"10","b":"0.1")"), R"("tax":"10")");
  const std::string dflt = R"({ math: "$.a * $.b", transform: [{ decimal: { scale: 2 } }], default: "0" })";
  EXPECT_EQ(tax(dflt, R"("a":"3")"), R"("tax":"0")") << "no operand: the default, as it is";
  EXPECT_EQ(tax(dflt, R"("a":"3","b":"1.005")"), R"("tax":"3.02")");
  EXPECT_THAT(tax(R"({ math: "$.a * $.b", transform: [{ cents_to_decimal: { scale: 2 } }] })", R"("a":"3","b":"7")"),
              HasSubstr("totals.tax: cents_to_decimal"))
      << "a transform without the fast path: its own error";
  EXPECT_THAT(tax(even, R"("a":"x","b":"1")"), HasSubstr("totals.tax: math: \"x\" is not a decimal"));
}

// Text is written as JSON strings: plain ASCII in one copy, anything else escaped or checked byte
// by byte. Whatever the bytes, the output must read back as the same text.
TEST_F(EngineTest, TextReadsBackAsWritten) {
  const std::string yaml = std::string(kOrderHead) + "  buyer.name: $.s\n";
  auto loaded = Load(yaml);
  ASSERT_TRUE(loaded.mapping);
  const std::vector<std::string> pieces = {"a", "Z", "0", " ", "~", "\x7f", "\"", "\\", "\n", "\t", "\x01", "\x1f",
                                           "/", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"};
  uint64_t x = 2463534242ULL;
  for (int round = 0; round < 4000; ++round) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::string text;
    const std::size_t len = 1 + x % 40;
    const bool plain = round % 2 == 0;  // half the strings plain ASCII, with at most one odd byte
    const std::size_t odd_at = (x >> 8) % (len + 1);
    for (std::size_t i = 0; i < len; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      text += plain && i != odd_at ? pieces[x % 5] : pieces[x % pieces.size()];
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("no"), w.String("1"), w.Key("total"), w.String("1");
    w.Key("s"), w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    w.EndObject();
    auto out = RunMapping(*loaded.mapping, std::string_view(buf.GetString(), buf.GetSize()));
    ASSERT_TRUE(out.ok()) << out.status().message();
    rapidjson::Document doc;
    doc.Parse(out->data(), out->size());
    ASSERT_FALSE(doc.HasParseError()) << *out;
    ASSERT_EQ(std::string(doc["buyer"]["name"].GetString(), doc["buyer"]["name"].GetStringLength()), text) << *out;
  }
}

// index: writes the element's position; a first number below the model's minimum is refused
// when the file loads, as are const: and default: values the model does not allow.
TEST_F(EngineTest, IndexRulesNumberTheLines) {
  const std::string lines = std::string(kLines);
  EXPECT_THAT(Run(std::string(kOrderHead) + lines, R"({"no":"1","total":"1","items":[{},{},{}]})"),
              ::testing::AllOf(HasSubstr(R"({"line_no":1,)"), HasSubstr(R"({"line_no":2,)"), HasSubstr(R"({"line_no":3,)")));
  std::string zero = lines;
  zero.replace(zero.find("index: 1"), 8, "index: 0");
  EXPECT_THAT(Errors(std::string(kOrderHead) + zero),
              ElementsAre("m.yaml:13:25: rules.lines[].line_no.index: the first line_no would be 0, but it must be at "
                          "least 1"));
}

TEST_F(EngineTest, FixedValuesAreCheckedWhenTheFileLoads) {
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  dealer_id: { index: 1 }\n"),
              ::testing::Contains(HasSubstr("m.yaml:4:23: rules.dealer_id.index: index: numbers the elements of a "
                                            "list; use it inside each: (or with split:)")));
  std::string head = kOrderHead;
  head.replace(head.find("channel: { const: dealer }"), 26, "channel: { const: ecom }");
  head.replace(head.find("currency: { const: CNY }"), 24, "currency: { const: cny, transform: [upper] }");
  head += "  buyer.name: { from: $.b, default: \"\" }\n  ext.any: { const: whatever }\n";
  head += "  totals.tax: { from: $.tax, transform: [decimal], default: \"1,5\" }\n";
  head += "  created_at: { const: \"2025-13-01T00:00:00Z\" }\n";
  EXPECT_THAT(Errors(head),
              ElementsAre("m.yaml:6:21: rules.channel.const: \"ecom\" is not one of dealer, ecommerce, direct, wecom",
                          "m.yaml:12:61: rules.totals.tax.default: expected a decimal, got \"1,5\"",
                          HasSubstr("m.yaml:13:24: rules.created_at.const: ")));
}

// Rules reading from the root find their member through a per-payload index of the root's
// members; it must find what a member-by-member search finds.
TEST_F(EngineTest, RootMembersAreFoundAsByName) {
  const std::string yaml = std::string(kOrderHead) + R"(  buyer.name: { from: [$.buyer.name, $.name] }
  lines:
    each: $.items[*]
    rules:
      line_no: { index: 1 }
      sku: { from: [sku, $$.sku] }
      quantity: { const: "1" }
      unit_price: { const: "1" }
      amount: { const: "1" }
)";
  // A repeated name: the first one counts (as RapidJSON's FindMember has it).
  EXPECT_THAT(Run(yaml, R"({"no":"A","no":"B","total":"1","buyer":{"name":"王芳"},"name":"x",)"
                        R"("sku":"S0","items":[{"sku":"S1"},{}]})"),
              ::testing::AllOf(HasSubstr(R"("order_no":"A")"), HasSubstr(R"("buyer":{"name":"王芳"})"),
                               HasSubstr(R"({"line_no":1,"sku":"S1",)"), HasSubstr(R"({"line_no":2,"sku":"S0",)")));
  EXPECT_THAT(Run(yaml, R"({"no":"A","total":"1","buyer":"none","name":"x","items":[]})"),
              HasSubstr(R"("buyer":{"name":"x"})")) << "a path through a member that is not an object";
  EXPECT_THAT(Run(yaml, R"([{"no":"A"}])"), HasSubstr("order_no: required, but $.no has no value"))
      << "a payload whose root is not an object";
  EXPECT_THAT(Run(yaml, R"("SO-1")"), HasSubstr("m.yaml: the payload is a single JSON value (a string), not an object"));
  EXPECT_THAT(Run(yaml, "\xEF\xBB\xBF{}"), HasSubstr("it starts with a UTF-8 byte order mark (EF BB BF)"));
}

TEST_F(EngineTest, KeepsUnreadMembersUnderExt) {
  const std::string yaml = std::string(kOrderHead) + kLines + "keep_unmapped: true\n";
  const std::string out =
      Run(yaml, std::string(R"({"no":"SO-2","total":"1","note":"urgent","tags":["a"],"gone":null,)") + kItem + "}");
  EXPECT_THAT(out, HasSubstr(R"("ext":{"note":"urgent","tags":["a"]})"));
  // A name the payload repeats is kept once (the first, as paths read it).
  EXPECT_THAT(Run(yaml, std::string(R"({"no":"SO-3","total":"1","x":1,"x":2,)") + kItem + "}"),
              HasSubstr(R"("ext":{"x":1})"));
}

TEST_F(EngineTest, NumbersAreReadAsWritten) {
  // Not through a double: trailing zeros, more than 17 digits, beyond 64 bits, in ext and in
  // the values rules read; integers stay integers, exponents are read as numbers.
  const std::string yaml = std::string(kOrderHead) +
                           "  ext.p: $.p\n  ext.obj: $.obj\n  totals.tax: { from: $.tax, transform: [decimal] }\n"
                           "  totals.shipping: { math: \"$.p * 2\" }\n" + kLines + "keep_unmapped: true\n";
  const std::string out = Run(yaml, std::string(R"({"no":"SO-4","total":1234567890.123456789012,"p":12.50,)"
                                                R"("tax":99999999999999999999.5,"big":123456789012345678901234567890,)"
                                                R"("obj":{"a":[1.10,-0.0,2e3,7]},"n":-3,)") + kItem + "}");
  EXPECT_THAT(out, ::testing::AllOf(HasSubstr(R"("total":"1234567890.123456789012")"),
                                    HasSubstr(R"("tax":"99999999999999999999.5")"),
                                    HasSubstr(R"("shipping":"25.00")"),
                                    HasSubstr(R"("p":"12.50")"),
                                    HasSubstr(R"("obj":{"a":[1.10,-0.0,2000.0,7]})"),
                                    HasSubstr(R"("big":123456789012345678901234567890)"),
                                    HasSubstr(R"("n":-3)")))
      << out;
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  ext: $.a\n"),
              ElementsAre(HasSubstr("m.yaml:4:3: rules.ext: \"ext\" is an object; map its fields")));
}

TEST_F(EngineTest, WhenAndDefault) {
  const std::string yaml = std::string(kOrderHead) + kLines +
                           "  dealer_id: { from: $.dealer, when: $.kind, equals: dealer, default: D-0 }\n";
  auto payload = [](const std::string& members) {
    return "{" + members + R"(,"no":"1","total":"1",)" + kItem + "}";
  };
  EXPECT_THAT(Run(yaml, payload(R"("kind":"dealer")")), HasSubstr(R"("dealer_id":"D-0")"));
  EXPECT_THAT(Run(yaml, payload(R"("kind":"dealer","dealer":"D-9")")), HasSubstr(R"("dealer_id":"D-9")"));
  EXPECT_THAT(Run(yaml, payload(R"("kind":"shop","dealer":"D-9")")), ::testing::Not(HasSubstr("dealer_id")));
}

TEST_F(EngineTest, SplitMapsOneEntityPerElement) {
  const std::string yaml = R"(format: json
target: stock_level
split: $.items[*]
rules:
  warehouse: $$.wh
  sku: sku
  on_hand: { from: qty, transform: [decimal] }
  as_of: { from: $$.at, transform: [{ datetime_parse: { format: rfc3339 } }] }
  source.system: { const: wms }
)";
  auto loaded = Load(yaml);
  ASSERT_TRUE(loaded.mapping) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].ToString());
  auto out = RunMappingEntities(*loaded.mapping, R"({"wh":"SZ","at":"2025-01-01T00:00:00Z","items":[{"sku":"A","qty":5},{"sku":"B","qty":0}]})");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_THAT((*out)[0], HasSubstr(R"("warehouse":"SZ","sku":"A","on_hand":"5")"));
  EXPECT_THAT((*out)[1], HasSubstr(R"("sku":"B","on_hand":"0")"));
}

// XML text and decimals take the emitter's fast paths; wherever they stop, the general path
// gives what it always gave.
TEST_F(EngineTest, XmlValuesGiveTheSameResultOnEveryPath) {
  const std::string yaml = R"(format: xml
target: order
rules:
  order_no: { from: ["//NO", "//ALT"], required: true }
  source.system: { const: erp }
  channel: { const: dealer }
  status: { const: created }
  currency: { from: "//HEAD/@currency" }
  totals.total: { from: ["//TOTAL", "//SUM"], transform: [{ decimal: { scale: 2 } }], required: true }
)";
  auto run = [&](const std::string& body) { return Run(yaml, "<DOC><HEAD currency=\"USD\"/>" + body + "</DOC>"); };
  EXPECT_THAT(run("<NO>X-1</NO><TOTAL>7.5</TOTAL>"), ::testing::AllOf(HasSubstr(R"("order_no":"X-1")"),
                                                                     HasSubstr(R"("total":"7.50")")));
  // The first node selected is empty: the general path reads on to the next one.
  EXPECT_THAT(run("<NO/><NO>X-2</NO><TOTAL></TOTAL><TOTAL>1</TOTAL>"),
              ::testing::AllOf(HasSubstr(R"("order_no":"X-2")"), HasSubstr(R"("total":"1.00")")));
  // No node: the next path.
  EXPECT_THAT(run("<ALT>X-3</ALT><SUM>2.005</SUM>"),
              ::testing::AllOf(HasSubstr(R"("order_no":"X-3")"), HasSubstr(R"("total":"2.01")")));
  EXPECT_THAT(run("<NO>X-4</NO><TOTAL>1,5</TOTAL>"), HasSubstr("m.yaml:9: totals.total: decimal: \"1,5\" is not a decimal"));
  EXPECT_THAT(run("<NO>\xC3(</NO><TOTAL>1</TOTAL>"), HasSubstr("is not accepted XML"));
  EXPECT_THAT(run("<NO>a&#1;b</NO><TOTAL>1</TOTAL>"), HasSubstr(R"("order_no":"a\u0001b")")) << "escaped as JSON";
  // An element's text split by CDATA sections or comments is read whole, on every path (the
  // fast one for order_no, the general one for an empty first node).
  EXPECT_THAT(run("<NO>AB<![CDATA[C<D]]>EF</NO><TOTAL>1<!-- x -->2</TOTAL>"),
              ::testing::AllOf(HasSubstr(R"("order_no":"ABC<DEF")"), HasSubstr(R"("total":"12.00")")));
  EXPECT_THAT(run("<NO/><NO><![CDATA[a]]]]><![CDATA[>b]]></NO><TOTAL>1</TOTAL>"), HasSubstr(R"("order_no":"a]]>b")"));
}

TEST_F(EngineTest, XPathsMustSelectNodesAndLiteralsMayLookLikePaths) {
  EXPECT_THAT(Errors("format: xml\ntarget: order\nrules:\n  order_no: \"count(//A)\"\n"),
              ElementsAre(HasSubstr("m.yaml:4:13: rules.order_no: XPath \"count(//A)\" gives a number, not nodes")));
  EXPECT_THAT(Errors("format: xml\ntarget: order\nrules:\n  order_no: $.order_no\n"),
              ElementsAre(HasSubstr("(this mapping reads XML, format: xml: write XPath, like //ORDER/NO")));
  EXPECT_THAT(Errors("format: xml\ntarget: order\nrules:\n  order_no: \"//A[@b='c]\"\n"),
              ElementsAre(HasSubstr("(a quote is not closed)")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: //A/B\n"),
              ElementsAre(HasSubstr("(this mapping reads JSON, format: json; XPath is for format: xml)")));
  EXPECT_THAT(Errors("format: xml\ntarget: order\nrules:\n  order_no: \"normalize-space(//A)\"\n"),
              ElementsAre(HasSubstr("gives a string, not nodes")));
  EXPECT_THAT(Errors("format: xml\ntarget: order\nrules:\n  order_no: { concat: [//A, \"/\", //B] }\n"),
              ElementsAre(HasSubstr("m.yaml:4:29: rules.order_no.concat: \"/\" reads as the whole payload, not as "
                                    "text; write { text: \"/\" }")));
  const std::string m = XmlOrder(R"(order_no: { concat: [//BELNR, { text: "/" }, //POSEX, { text: "/2025" }] })");
  EXPECT_THAT(Run(m, "<D><BELNR>45</BELNR><POSEX>10</POSEX></D>"), HasSubstr(R"("order_no":"45/10/2025")"));
  EXPECT_THAT(Run(m, " {\"a\":1}"), HasSubstr("the payload looks like JSON, but the mapping reads XML"));
  EXPECT_THAT(Run(std::string(kOrderHead) + kLines, "\n<order/>"),
              HasSubstr("the payload looks like XML, but the mapping reads JSON"));
}

TEST_F(EngineTest, ObjectsAndListsAreNotValuesOfTheModelsFields) {
  const std::string yaml = std::string(kOrderHead) + "  dealer_id: { from: [$.d, $.dealer] }\n" + kLines;
  auto run = [&](const std::string& extra) {
    return Run(yaml, std::string(R"({"no":"1","total":"1",)") + extra + kItem + "}");
  };
  // An empty object or list has no value: the next path is read.
  EXPECT_THAT(run(R"("d":{},"dealer":"D-7",)"), HasSubstr(R"("dealer_id":"D-7")"));
  EXPECT_THAT(run(R"("d":[],"dealer":"D-8",)"), HasSubstr(R"("dealer_id":"D-8")"));
  // One with something in it is refused, not written as JSON text.
  EXPECT_THAT(run(R"("d":{"id":"D-9"},)"),
              HasSubstr("m.yaml:10: dealer_id: $.d is an object, not a single value; map one of its fields ($.d.name)"));
  EXPECT_THAT(run(R"("d":["D-9"],)"), HasSubstr("$.d is a list, not a single value; map one of its elements ($.d[0])"));
}

TEST_F(EngineTest, ConcatSeparatorGoesBetweenPartsThatHaveAValue) {
  const std::string yaml = std::string(kOrderHead) +
                           "  ship_to.line: { concat: [$.a1, $.a2, \"(\", $.room, \")\"], separator: \" \" }\n" + kLines;
  auto line = [&](const std::string& extra) {
    return Run(yaml, std::string(R"({"no":"1","total":"1",)") + extra + kItem + "}");
  };
  EXPECT_THAT(line(R"("a1":"文三路 90 号","a2":"5 楼","room":"501",)"), HasSubstr(R"x("line":"文三路 90 号 5 楼 ( 501 )")x"));
  EXPECT_THAT(line(R"("a1":"文三路 90 号","a2":null,"room":"",)"), HasSubstr(R"x("line":"文三路 90 号 ( )")x"));
  EXPECT_THAT(line(""), ::testing::Not(HasSubstr(R"("ship_to")"))) << "no path with a value: no value";
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: { from: $.a, separator: \" \" }\n"),
              ::testing::Contains(HasSubstr("m.yaml:4:26: rules.order_no.separator: separator: goes with concat:")));
}

TEST_F(EngineTest, XmlPredicatesCompareTheWholeText) {
  // [CHILD='v'] compares XPath's string-value of CHILD, as pugixml's own XPath does.
  const std::string m = XmlOrder(R"(order_no: { from: "//REF[Q='001']/NO", required: true })");
  EXPECT_THAT(Run(m, "<D><REF><Q>00<!-- c -->1</Q><NO>A</NO></REF></D>"), HasSubstr(R"("order_no":"A")"));
  EXPECT_THAT(Run(m, "<D><REF><Q>0<b>0</b>1</Q><NO>B</NO></REF></D>"), HasSubstr(R"("order_no":"B")"));
  EXPECT_THAT(Run(m, "<D><REF><Q>002</Q><NO>C</NO></REF><REF><Q><![CDATA[001]]></Q><NO>D</NO></REF></D>"),
              HasSubstr(R"("order_no":"D")"));
}

TEST_F(EngineTest, MapsXmlWithXPath) {
  const std::string yaml = R"(format: xml
target: order
rules:
  order_no: { from: "//HEAD/NO", required: true }
  source.system: { const: erp }
  channel: { const: dealer }
  status: { const: created }
  currency: { from: "//HEAD/@currency" }
  totals.total: { from: //HEAD/TOTAL, transform: [decimal] }
  lines:
    each: //ITEM
    rules:
      line_no: { index: 1 }
      sku: "@sku"
      quantity: { from: QTY, transform: [decimal] }
      unit_price: { from: PRICE, transform: [decimal] }
      amount: { math: "./PRICE * ./QTY", transform: [decimal] }
)";
  EXPECT_EQ(Run(yaml, R"(<DOC><HEAD currency="USD"><NO>X-1</NO><TOTAL>7.5</TOTAL></HEAD>
    <ITEM sku="S1"><QTY>3</QTY><PRICE>2.5</PRICE></ITEM></DOC>)"),
            R"({"order_no":"X-1","source":{"system":"erp"},"channel":"dealer","status":"created",)"
            R"("currency":"USD","lines":[{"line_no":1,"sku":"S1","quantity":"3","unit_price":"2.5",)"
            R"("amount":"7.5"}],"totals":{"total":"7.5"}})");
}

// Rules inside each: find their first member (JSON) or child (XML) through an index built once
// per element; they must read exactly what a search from the element reads: the first of
// duplicate names, [N] and [CHILD='v'] among same-name children, $$ and absolute paths past
// the element, and elements that are not objects.
TEST_F(EngineTest, ListElementsAreReadAsBySearch) {
  const std::string json = std::string(kOrderHead) + R"(  lines:
    each: $.items[*]
    rules:
      line_no: { index: 1 }
      sku: { from: [sku, $$.fallback_sku] }
      name: { concat: [$.name, "/", $$.no] }
      quantity: { from: q.n, transform: [decimal] }
      unit_price: { from: [price, $.p], transform: [decimal] }
      amount: { math: "price * q.n", transform: [decimal] }
)";
  EXPECT_EQ(Run(json, R"({"no":"N","total":"1","fallback_sku":"F","items":[)"
                      R"({"sku":"A","sku":"B","name":"n1","q":{"n":"2"},"price":"1.5","price":"9"},)"
                      R"({"name":"n2","q":{"n":3},"price":"2"}]})"),
            R"({"order_no":"N","source":{"system":"erp"},"channel":"dealer","status":"created","currency":"CNY",)"
            R"("lines":[{"line_no":1,"sku":"A","name":"n1/N","quantity":"2","unit_price":"1.5","amount":"3.0"},)"
            R"({"line_no":2,"sku":"F","name":"n2/N","quantity":"3","unit_price":"2","amount":"6"}],"totals":{"total":"1"}})");
  EXPECT_THAT(Run(json, R"({"no":"N","total":"1","items":["x",{"sku":"A","q":{"n":"1"},"price":"1"}]})"),
              HasSubstr("lines[0].quantity: required")) << "an element that is not an object has no members";

  const std::string xml = R"(format: xml
target: order
rules:
  order_no: { from: "//NO", required: true }
  source.system: { const: erp }
  channel: { const: dealer }
  status: { const: created }
  currency: { const: CNY }
  totals.total: { from: //TOTAL, transform: [decimal] }
  lines:
    each: //ITEM
    rules:
      line_no: { from: "ID[2]" }
      sku: { from: ["REF[K='002']/V", "REF[K='001']/V", "//NO"] }
      name: "T[@lang='en']"
      quantity: { from: Q, transform: [decimal] }
      unit_price: { from: P, transform: [decimal] }
      amount: { math: "./P * ./Q", transform: [decimal] }
)";
  EXPECT_EQ(Run(xml, R"(<DOC><NO>N</NO><TOTAL>1</TOTAL>)"
                     R"(<ITEM><ID>7</ID><REF><K>001</K><V>a</V></REF><T lang="zh">甲</T><ID>8</ID>)"
                     R"(<REF><K>002</K><V>b</V></REF><T lang="en">A</T><Q>2</Q><P>1.5</P><P>9</P></ITEM>)"
                     R"(<ITEM><ID>1</ID><ID>2</ID><REF><K>001</K><V>c</V></REF><Q>1</Q><P>3</P></ITEM>)"
                     R"(<ITEM><ID>1</ID><ID>3</ID><Q>1</Q><P>4</P></ITEM></DOC>)"),
            R"({"order_no":"N","source":{"system":"erp"},"channel":"dealer","status":"created","currency":"CNY",)"
            R"("lines":[{"line_no":8,"sku":"b","name":"A","quantity":"2","unit_price":"1.5","amount":"3.0"},)"
            R"({"line_no":2,"sku":"c","quantity":"1","unit_price":"3","amount":"3"},)"
            R"({"line_no":3,"sku":"N","quantity":"1","unit_price":"4","amount":"4"}],"totals":{"total":"1"}})");
}

TEST_F(EngineTest, RunTimeErrorsNameTheFileLineAndRule) {
  const std::string yaml = std::string(kOrderHead) + R"(  lines:
    each: $.items[*]
    rules:
      line_no: { index: 1 }
      quantity: { from: qty, transform: [decimal] }
      unit_price: { from: price, transform: [decimal] }
      amount: { from: price, transform: [decimal] }
)";
  EXPECT_EQ(Run(yaml, R"({"total":"1"})"), "error: m.yaml:4: order_no: required, but $.no has no value");
  EXPECT_THAT(Run(yaml, R"({"no":"1","total":"1","items":[{"qty":1,"price":"1"},{"qty":"x","price":"1"}]})"),
              HasSubstr("m.yaml:14: lines[1].quantity: decimal: \"x\" is not a decimal"));
  EXPECT_THAT(Run(yaml, "{not json"), HasSubstr("the payload is not JSON"));
  // What the rules produce is checked by the canonical model too.
  EXPECT_THAT(Run(yaml, R"({"no":"1","total":"1","items":[{"qty":1}]})"),
              HasSubstr("the mapped order is not valid: lines[0].unit_price: required"));
}

TEST_F(EngineTest, LoadErrorsNameFileLineColumnAndKey) {
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_numb: $.x\n"),
              ElementsAre(HasSubstr("m.yaml:4:3: rules.order_numb: no field \"order_numb\" in the canonical model here; fields: order_no,")));
  EXPECT_THAT(Errors("format: csv\ntarget: order\nrules: {}\n"),
              ElementsAre("m.yaml:1:9: format: expected json or xml, got \"csv\""));
  EXPECT_THAT(Errors("format: json\ntarget: invoice\nrules: {}\n"),
              ElementsAre("m.yaml:2:9: target: expected order, customer or stock_level, got \"invoice\""));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: { from: $.x, transform: [trimm] }\n"),
              ElementsAre(HasSubstr("m.yaml:4:38: rules.order_no.transform[0]: unknown transform \"trimm\"; did you mean \"trim\"?")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: { form: $.x }\n"),
              ElementsAre(HasSubstr("m.yaml:4:15: rules.order_no.form: unknown rule key \"form\"")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: $.a[\n"),
              ElementsAre("m.yaml:4:13: rules.order_no: bad JSON path \"$.a[\": column 5: expected an index, * or a quoted name inside [ ]"));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  buyer: $.b\n"),
              ElementsAre(HasSubstr("m.yaml:4:3: rules.buyer: \"buyer\" is an object (map its fields, e.g. buyer.name)")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  lines: $.items\n"),
              ElementsAre(HasSubstr("rules.lines: a list of objects is mapped with each: PATH and rules:")));
  EXPECT_THAT(Errors("format: xml\ntarget: order\nrules:\n  order_no: \"//A[\"\n"),
              ElementsAre(HasSubstr("m.yaml:4:13: rules.order_no: bad XPath \"//A[\"")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: { from: $.a, const: x }\n"),
              ElementsAre(HasSubstr("a rule takes only one of from:")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  totals.total: { math: \"$.a * ($.b + 1)\" }\n"),
              ElementsAre(HasSubstr("m.yaml:4:25: rules.totals.total.math: math has +, - and * over paths and "
                                    "numbers, without parentheses or /; got \"($.b\"")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  totals.total: { math: \"$.a * $.b[\" }\n"),
              ElementsAre(HasSubstr("m.yaml:4:25: rules.totals.total.math: bad JSON path \"$.b[\"")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: [\n"),
              ElementsAre(HasSubstr("m.yaml:5:1: invalid YAML")));
}

TEST_F(EngineTest, OfSeveralFailingRulesTheFirstInTheFileIsNamed) {
  // The entity is written in the model's order (status before currency before lines); the
  // message names the rule an admin meets first reading the file, whatever kind of failure.
  const std::string yaml = R"(format: json
target: order
rules:
  currency: { from: $.cur }
  order_no: $.no
  source.system: { const: acme }
  status: { from: $.st }
  channel: { const: ecommerce }
  totals.total: $.total
  lines:
    each: $.items[*]
    rules:
      line_no: { index: 1 }
      quantity: { from: qty, transform: [decimal] }
      unit_price: { const: "1" }
      amount: { const: "1" }
)";
  EXPECT_THAT(Run(yaml, R"({"cur":"cny","no":"1","st":"PAID","total":"1","items":[{"qty":"x"}]})"),
              HasSubstr("m.yaml:4: currency: \"cny\" does not match the canonical pattern"));
  EXPECT_THAT(Run(yaml, R"({"cur":"CNY","no":"1","st":"PAID","total":"1","items":[{"qty":"x"}]})"),
              HasSubstr("m.yaml:7: status: \"PAID\" is not one of"));
  EXPECT_THAT(Run(yaml, R"({"cur":"CNY","no":"1","st":"paid","total":"1","items":[{"qty":"1"},{"qty":"x"}]})"),
              HasSubstr("m.yaml:14: lines[1].quantity: decimal: \"x\" is not a decimal"));
}

TEST_F(EngineTest, RefusesTwoRulesForOnePlace) {
  // The same key twice in one YAML map (yaml-cpp keeps both), a field inside another's value,
  // the same field inside each:, and the same rules outbound (JSON and XML).
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: $.a\n  order_no: $.b\n"),
              ElementsAre("m.yaml:5:3: rules.order_no: \"order_no\" is already mapped at line 4; a field gets one "
                          "rule (use from: [a, b] for a first non-empty, concat: to join)"));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  lines:\n    each: $.i[*]\n    rules:\n"
                     "      sku: $.a\n      sku: $.b\n"),
              ElementsAre(HasSubstr("m.yaml:8:7: rules.lines.rules.sku: \"sku\" is already mapped at line 7")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  ext.a: $.a\n  ext.a.b: $.b\n"),
              ElementsAre(HasSubstr("m.yaml:5:3: rules.ext.a.b: \"ext.a.b\" and \"ext.a\" (line 4) overlap")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  ext..a: $.a\n"),
              ElementsAre(HasSubstr("m.yaml:4:3: rules.ext..a: \"ext..a\" has an empty part")));
  EXPECT_THAT(Errors("direction: out\nformat: json\nsource: order\nrules:\n  a: $.order_no\n  a.b: $.order_no\n"),
              ElementsAre(HasSubstr("m.yaml:6:3: rules.a.b: \"a.b\" and \"a\" (line 5) overlap")));
  const std::string xml = "direction: out\nformat: xml\nsource: order\nroot: R\nrules:\n";
  EXPECT_THAT(Errors(xml + "  A: $.order_no\n  A/@no: $.order_no\n  A/B: $.order_no\n  C[1]: $.order_no\n"
                           "  C: $.order_no\n  C[2]: $.order_no\n"),
              ElementsAre(HasSubstr("m.yaml:8:3: rules.A/B: \"A/B\" and \"A\" (line 6) overlap"),
                          HasSubstr("m.yaml:10:3: rules.C: \"C[1]\" is already mapped at line 9")));
  EXPECT_THAT(Errors(xml + "  \"a b\": $.order_no\n  1x: $.order_no\n  A/@x/B: $.order_no\n  D[0]: $.order_no\n"),
              ElementsAre(HasSubstr("rules.a b: \"a b\" is not an XML element name"),
                          HasSubstr("rules.1x: \"1x\" is not an XML element name"),
                          HasSubstr("rules.A/@x/B: \"@x\": an attribute can only be the last step"),
                          HasSubstr("rules.D[0]: \"D[0]\": a step's position is written [N], N from 1")));
  EXPECT_THAT(Errors("direction: out\nformat: xml\nsource: order\nroot: \"bad root\"\nrules:\n  A: $.order_no\n"),
              ElementsAre(HasSubstr("m.yaml:4:7: root: \"bad root\" is not an XML element name")));
}

TEST_F(EngineTest, TypeChecksTransformsAgainstTheSchema) {
  // A date-time cannot fill a decimal; a decimal cannot feed a text-only transform.
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n"
                     "  totals.total: { from: $.t, transform: [{ datetime_parse: { format: rfc3339 } }] }\n"),
              ElementsAre(HasSubstr("rules.totals.total: the rule gives time, but \"totals.total\" is a decimal")));
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n"
                     "  order_no: { from: $.t, transform: [decimal, upper] }\n"),
              ElementsAre(HasSubstr("rules.order_no.transform[1]: upper takes")));
}

TEST_F(EngineTest, ReportsEveryProblemNotOnlyTheFirst) {
  auto errors = Errors("format: json\ntarget: order\nrules:\n  nope: $.a\n  order_no: { from: $.a, bogus: 1 }\n");
  EXPECT_EQ(errors.size(), 2u);
}

TEST_F(EngineTest, FileMapperEmitsTypedEventsWithSubjects) {
  auto loaded = Load(std::string(kOrderHead) + kLines + "  source.id: $.id\n");
  ASSERT_TRUE(loaded.mapping);
  auto mapper = MakeFileMapper(loaded.mapping);
  const std::string body = std::string(R"({"no":"SO-7","id":"77","total":"1",)") + kItem + "}";
  auto events = mapper->Map(InboundPayload{"dealer_erp", "e1", "application/json", body, ""});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "com.channelhub.order.upserted");
  EXPECT_EQ((*events)[0].subject, "order/dealer_erp/77");
}

constexpr char kCanonOrder[] =
    R"({"order_no":"SO-1","source":{"system":"erp","id":"1"},"channel":"dealer","dealer_id":"D7",)"
    R"("status":"created","currency":"CNY","lines":[{"line_no":1,"sku":"A","quantity":"2",)"
    R"("unit_price":"1.50","amount":"3.00"},{"line_no":2,"sku":"B","quantity":"1","unit_price":"4",)"
    R"("amount":"4"}],"totals":{"total":"7.00"},"created_at":"2025-01-01T16:30:00Z"})";

TEST_F(EngineTest, OutboundBuildsJsonWithTypes) {
  const std::string yaml = R"(direction: out
format: json
source: order
rules:
  Model.FBillNo: $.order_no
  Model.FDate: { from: $.created_at, transform: [{ datetime_format: { format: "%Y-%m-%d" } }] }
  Model.FCustId.FNumber: { from: $.dealer_id, required: true }
  Model.Paid: { const: "false", type: boolean }
  Model.Entry:
    each: $.lines[*]
    rules:
      FMaterialId.FNumber: sku
      FQty: { from: quantity, type: number }
      FSeq: { from: line_no, type: integer }
      FBill: $$.order_no
)";
  EXPECT_EQ(Run(yaml, kCanonOrder),
            R"({"Model":{"FBillNo":"SO-1","FDate":"2025-01-02","FCustId":{"FNumber":"D7"},"Paid":false,)"
            R"("Entry":[{"FMaterialId":{"FNumber":"A"},"FQty":2,"FSeq":1,"FBill":"SO-1"},)"
            R"({"FMaterialId":{"FNumber":"B"},"FQty":1,"FSeq":2,"FBill":"SO-1"}]}})");
}

TEST_F(EngineTest, OutboundRulesThatWouldFailEveryEventAreRefusedWhenTheFileLoads) {
  const std::string head = "direction: out\nformat: json\nsource: order\nrules:\n";
  EXPECT_THAT(Errors(head + "  a: { from: $.created_at, transform: [decimal] }\n"),
              ElementsAre(HasSubstr("m.yaml:5:3: rules.a: every value of $.created_at (a date-time, like "
                                    "\"2025-06-18T01:30:00Z\") would fail: decimal: ")));
  EXPECT_THAT(Errors(head + "  a: { from: $.totals.total, transform: [datetime_format] }\n"),
              ElementsAre(HasSubstr("every value of $.totals.total (a decimal, like \"12.50\") would fail")));
  EXPECT_THAT(Errors(head + "  a: { from: $.created_at, type: number }\n"),
              ElementsAre(HasSubstr("type: number, but $.created_at (a date-time")));
  EXPECT_THAT(Errors(head + "  a: { const: abc, type: integer }\n  b: { const: yes, type: boolean }\n"),
              ElementsAre(HasSubstr("rules.a: type: integer, but const: \"abc\" gives \"abc\""),
                          HasSubstr("rules.b: type: boolean, but const: \"yes\" gives \"yes\"")));
  // What can work is left alone: a text field may hold digits, a decimal may be whole.
  EXPECT_THAT(Errors(head + "  a: { from: $.dealer_id, type: number }\n  b: { from: $.totals.total, type: integer }\n"
                            "  c: { from: $.totals.total, transform: [decimal_to_cents], type: integer }\n"
                            "  d: { from: $.created_at, transform: [{ datetime_format: { format: epoch_s } }], type: integer }\n"),
              ElementsAre());
}

TEST_F(EngineTest, OutboundNumbersKeepTheirDigitsAndXmlRefusesWhatItCannotCarry) {
  const std::string json = "direction: out\nformat: json\nsource: order\nrules:\n"
                           "  total: { from: $.totals.total, type: number }\n  no: $.order_no\n";
  EXPECT_EQ(Run(json, R"({"order_no":"x\"1","totals":{"total":"9999999999999999.99"}})"),
            R"({"total":9999999999999999.99,"no":"x\"1"})");
  // A text that only looks like a number stays a string.
  EXPECT_EQ(Run(json, R"({"order_no":"12.5","totals":{"total":"-0.10"}})"), R"({"total":-0.10,"no":"12.5"})");
  const std::string xml = "direction: out\nformat: xml\nsource: order\nroot: R\nrules:\n"
                          "  NO: $.order_no\n  A/@n: $.buyer.name\n";
  EXPECT_THAT(Run(xml, R"({"order_no":"a\u0001b"})"),
              HasSubstr("m.yaml:6: NO: U+0001 at byte 1 cannot be written in XML 1.0; remove it first"));
  EXPECT_THAT(Run(xml, R"({"order_no":"ok","buyer":{"name":"x\uFFFF"}})"),
              HasSubstr("m.yaml:7: A/@n: U+FFFF at byte 1 cannot be written in XML 1.0"));
  EXPECT_THAT(Run(xml, R"({"order_no":"tab\tnew\nline"})"), HasSubstr("<NO>tab\tnew\nline</NO>"));
}

TEST_F(EngineTest, OutboundBuildsXmlWithRepeatedAndNumberedElements) {
  const std::string yaml = R"(direction: out
format: xml
source: order
root: DOC
rules:
  HEAD/@no: $.order_no
  HEAD/PARTNER[1]/ROLE: { const: AG }
  HEAD/PARTNER[1]/ID: $.dealer_id
  HEAD/PARTNER[2]/ROLE: { const: WE }
  ITEM:
    each: $.lines[*]
    rules:
      "@pos": { math: "line_no * 10" }
      QTY: quantity
)";
  EXPECT_EQ(Run(yaml, kCanonOrder),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DOC>\n  <HEAD no=\"SO-1\">\n"
            "    <PARTNER>\n      <ROLE>AG</ROLE>\n      <ID>D7</ID>\n    </PARTNER>\n"
            "    <PARTNER>\n      <ROLE>WE</ROLE>\n    </PARTNER>\n  </HEAD>\n"
            "  <ITEM pos=\"10\">\n    <QTY>2</QTY>\n  </ITEM>\n  <ITEM pos=\"20\">\n    <QTY>1</QTY>\n  </ITEM>\n"
            "</DOC>\n");
}

TEST_F(EngineTest, OutboundSourcePathsAreCheckedAgainstTheModel) {
  EXPECT_THAT(Errors("direction: out\nformat: json\nsource: order\nrules:\n  X: $.order_number\n"),
              ElementsAre(HasSubstr("m.yaml:5:6: rules.X: \"$.order_number\": no field \"order_number\" in the canonical model here")));
  EXPECT_THAT(Errors("direction: out\nformat: json\nsource: order\nrules:\n  X:\n    each: $.lines[*]\n    rules:\n      Y: skew\n"),
              ElementsAre(HasSubstr("rules.X.rules.Y: \"skew\": no field \"skew\"")));
  EXPECT_THAT(Errors("direction: out\nformat: xml\nsource: order\nrules:\n  X: $.order_no\n"),
              ElementsAre(HasSubstr("root: an XML output needs root:")));
  EXPECT_THAT(Errors("direction: out\nformat: json\nsource: order\ntarget: order\nrules: {}\n"),
              ElementsAre(HasSubstr("unknown key \"target\" in a direction: out mapping")));
  EXPECT_THAT(Errors("direction: out\nformat: json\nsource: order\nrules:\n  X: { from: $.ext.anything }\n"),
              ::testing::IsEmpty()) << "ext is free-form";
}

// The engine writes entities straight to JSON from a plan; the model's codec is the reference
// for what canonical JSON is. For every shipped inbound mapping and every fixture that maps,
// the output must be exactly what the model writes for it: same keys, same order, same text.
TEST(EngineCanonical, EveryShippedFixtureMapsToTheModelsOwnJson) {
  const fs::path root = fs::path(CHUB_SOURCE_DIR) / "mappings";
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const fs::path yaml = entry.path();
    if (yaml.extension() != ".yaml" || yaml.parent_path().filename() == "schema") continue;
    auto loaded = LoadMapping(yaml.string(), (root / "schema").string());
    ASSERT_TRUE(loaded.mapping) << yaml;
    if (MappingIsOutbound(*loaded.mapping)) continue;
    const std::string stem = yaml.stem().string() + ".";
    for (const auto& f : fs::directory_iterator(yaml.parent_path())) {
      const std::string name = f.path().filename().string();
      if (name.rfind(stem, 0) != 0 || name.find(".in.") == std::string::npos) continue;
      std::ifstream in(f.path(), std::ios::binary);
      const std::string payload((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto entities = RunMappingEntities(*loaded.mapping, payload);
      if (!entities.ok()) continue;  // an error fixture
      for (const std::string& e : *entities) {
        const std::string& target = MappingTarget(*loaded.mapping);
        std::string again;
        if (target == "order") {
          auto o = model::OrderFromJson(e);
          ASSERT_TRUE(o.ok()) << name << ": " << o.status().message() << "\n" << e;
          again = model::ToJson(*o);
        } else if (target == "customer") {
          auto c = model::CustomerFromJson(e);
          ASSERT_TRUE(c.ok()) << name << ": " << c.status().message() << "\n" << e;
          again = model::ToJson(*c);
        } else {
          auto s = model::StockLevelFromJson(e);
          ASSERT_TRUE(s.ok()) << name << ": " << s.status().message() << "\n" << e;
          again = model::ToJson(*s);
        }
        EXPECT_EQ(e, again) << name;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

TEST_F(EngineTest, SchemaChecksRunAsTheEntityIsWritten) {
  // An enum, a pattern (currency), an integer bound and a key the model requires.
  const std::string head = R"(format: json
target: order
rules:
  order_no: $.no
  source.system: { const: shop }
  channel: { const: ecommerce }
  status: $.status
  currency: $.currency
  totals.total: { from: $.total, transform: [decimal] }
  lines:
    each: $.items[*]
    rules:
      line_no: n
      quantity: { const: "1" }
      unit_price: { const: "1" }
      amount: { const: "1" }
)";
  EXPECT_THAT(Run(head, R"({"no":"1","status":"paid","currency":"CNY","total":"1"})"),
              ::testing::StartsWith("{\"order_no\":\"1\",\"source\":{\"system\":\"shop\"},\"channel\""));
  EXPECT_THAT(Run(head, R"({"no":"1","status":"PAID","currency":"CNY","total":"1"})"),
              HasSubstr("m.yaml:7: status: \"PAID\" is not one of created, confirmed, paid"));
  EXPECT_THAT(Run(head, R"({"no":"1","status":"paid","currency":"cny","total":"1"})"),
              HasSubstr("m.yaml:8: currency: \"cny\" does not match the canonical pattern ^[A-Z]{3}$"));
  EXPECT_THAT(Run(head, R"({"no":"1","status":"paid","currency":"CNY","total":"1","items":[{"n":0}]})"),
              HasSubstr("lines[0].line_no: must be between 1 and 1000000, got 0"));
  EXPECT_THAT(Run(head, R"({"no":"1","status":"paid","currency":"CNY","total":"1","items":[{"n":1},{"n":1}]})"),
              HasSubstr("lines[1].line_no: 1 is used twice"));
  EXPECT_THAT(Run(head, R"({"status":"paid","currency":"CNY","total":"1"})"),
              HasSubstr("m.yaml:4: the mapped order is not valid: order_no: required, but the rule gives no value"));
  // Text that is not UTF-8 never reaches the canonical JSON.
  EXPECT_THAT(Run(head, "{\"no\":\"a\xC3(\",\"status\":\"paid\",\"currency\":\"CNY\",\"total\":\"1\"}"),
              HasSubstr("order_no: \"a\\xc3(\" is not valid UTF-8"));
  // An order mapping without lines: the model's lines may be empty, and are written so.
  EXPECT_EQ(Run("format: json\ntarget: order\nrules:\n  order_no: $.no\n  source.system: { const: s }\n"
                "  channel: { const: dealer }\n  status: { const: created }\n  currency: { const: CNY }\n"
                "  totals.total: { from: $.t, transform: [decimal] }\n",
                R"({"no":"A1","t":"1.5"})"),
            R"({"order_no":"A1","source":{"system":"s"},"channel":"dealer","status":"created","currency":"CNY",)"
            R"("lines":[],"totals":{"total":"1.5"}})");
  // A key the model requires and no rule fills is a load error, not a surprise at run time.
  EXPECT_THAT(Errors("format: json\ntarget: order\nrules:\n  order_no: $.no\n"),
              ::testing::Contains(HasSubstr("the canonical order requires \"source\"; add a rule for it")));
}

}  // namespace
}  // namespace channelhub::mapping
