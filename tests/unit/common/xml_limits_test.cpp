#include "hub/common/xml_limits.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "connectors/common/xml_guard.hpp"

namespace channelhub::xml {
namespace {

std::string Repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

Status Check(const std::string& text, Limits limits = {}) {
  pugi::xml_document doc;
  return ParseBounded(text, &doc, limits);
}

TEST(XmlLimitsTest, AcceptsOrdinaryDocuments) {
  EXPECT_TRUE(Check("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><r a=\"1\"><b>苏州 &amp; &#x4E2D;</b><c/></r>").ok());
  pugi::xml_document doc;
  ASSERT_TRUE(ParseBounded("<r><b>x</b></r>", &doc, {}).ok());
  EXPECT_STREQ(doc.child("r").child_value("b"), "x");
}

TEST(XmlLimitsTest, ReportsSyntaxErrorsWithTheOffset) {
  Status st = Check("<r><b></r>");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "XML parse error at offset 8 (line 1, column 9): Start-end tags mismatch");
  EXPECT_FALSE(Check("").ok());
  EXPECT_FALSE(Check("<r>").ok());
}

TEST(XmlLimitsTest, RefusesWhatIsNotOneRootElement) {
  // pugixml alone reads all of these without a word, keeping the first root only.
  pugi::xml_document doc;
  EXPECT_EQ(ParseBounded("<r>1</r><r>2</r>", &doc, {}).message(), "XML has a second root element <r> at offset 9");
  EXPECT_EQ(ParseBounded("<r>1</r>junk", &doc, {}).message(), "XML has text outside its root element at offset 8");
  EXPECT_EQ(ParseBounded("junk<r>1</r>", &doc, {}).message(), "XML has text outside its root element at offset 0");
  EXPECT_EQ(ParseBounded("<r/><![CDATA[x]]>", &doc, {}).message(), "XML has text outside its root element at offset 13");
  EXPECT_THAT(ParseBounded("", &doc, {}).message(), ::testing::HasSubstr("XML has no root element"));
  EXPECT_THAT(ParseBounded("<!-- only -->", &doc, {}).message(), ::testing::HasSubstr("XML has no root element"));
  // What may stand around the root still may.
  EXPECT_TRUE(ParseBounded("<?xml version=\"1.0\"?>\n<!-- c --><?pi x?>\n<r>1</r>\n<!-- e -->\n", &doc, {}).ok());
  EXPECT_STREQ(doc.document_element().name(), "r");
}

TEST(XmlLimitsTest, ReadsGbkAndOtherDeclaredEncodings) {
  // "杭州" in GBK is BA BC D6 DD; GB2312 is read the same way, Big5 through iconv too.
  pugi::xml_document doc;
  ASSERT_TRUE(ParseBounded("<?xml version=\"1.0\" encoding=\"GBK\"?><r><n>\xBA\xBC\xD6\xDD</n></r>", &doc, {}).ok());
  EXPECT_STREQ(doc.child("r").child("n").text().get(), "杭州");
  ASSERT_TRUE(ParseBounded("<?xml version='1.0' encoding = 'gb2312' ?><r a=\"\xBA\xBC\"/>", &doc, {}).ok());
  EXPECT_STREQ(doc.child("r").attribute("a").value(), "杭");
  ASSERT_TRUE(ParseBounded("<?xml version=\"1.0\" encoding=\"Big5\"?><r>\xA4\xA4</r>", &doc, {}).ok());
  EXPECT_STREQ(doc.child("r").text().get(), "中");
  // UTF-8 and what pugixml reads itself are left to it.
  ASSERT_TRUE(ParseBounded("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>\xE9</r>", &doc, {}).ok());
  EXPECT_STREQ(doc.child("r").text().get(), "\xC3\xA9");
  // Bytes that are not of the declared encoding, and an encoding nobody knows, say so.
  EXPECT_EQ(ParseBounded("<?xml version=\"1.0\" encoding=\"GBK\"?><r>\xBA</r>", &doc, {}).message(),
            "XML declares encoding \"GBK\", but byte 39 is not GBK");
  EXPECT_THAT(ParseBounded("<?xml version=\"1.0\" encoding=\"klingon\"?><r/>", &doc, {}).message(),
              ::testing::HasSubstr("XML declares encoding \"klingon\", which the hub cannot read; send UTF-8"));
  // The checks run on what was converted: a DOCTYPE is still refused.
  EXPECT_THAT(ParseBounded("<?xml version=\"1.0\" encoding=\"GBK\"?><!DOCTYPE r><r/>", &doc, {}).message(),
              ::testing::HasSubstr("DOCTYPE is refused"));
}

TEST(XmlLimitsTest, RefusesAnyDoctype) {
  for (const std::string& text : {
           std::string("<!DOCTYPE r><r/>"),
           std::string("<!DOCTYPE r SYSTEM \"http://127.0.0.1/x.dtd\"><r/>"),
           std::string("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>"),
           std::string("<!DOCTYPE r [<!ENTITY a \"aa\"><!ENTITY b \"&a;&a;&a;\">]><r>&b;</r>"),
           std::string("<?xml version=\"1.0\"?><!-- before --><!DOCTYPE r [<!ENTITY % p SYSTEM \"x\"> %p;]><r/>"),
       }) {
    Status st = Check(text);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(st.message().find("DOCTYPE is refused"), std::string::npos) << st.message();
  }
  // Inside an element a DOCTYPE is a syntax error.
  EXPECT_NE(Check("<r><!DOCTYPE r></r>").message().find("parse error"), std::string::npos);
}

TEST(XmlLimitsTest, LimitsDepthWithoutRecursing) {
  Limits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(Check("<a><b><c>text</c></b></a>", limits).ok());  // text inside depth 3 is fine
  Status st = Check("<a><b><c><d/></c></b></a>", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "XML nested deeper than 3 levels at offset 10 (the limit is server.xml_max_depth)");
  // Siblings after a deep branch are walked at the right depth.
  EXPECT_TRUE(Check("<a><b><c/></b><b><c/></b><b/></a>", limits).ok());
  // 100,000 levels: the default limit stops it, and no stack is spent on the walk.
  EXPECT_NE(Check(Repeat("<a>", 100000) + Repeat("</a>", 100000)).message().find("deeper than 256 levels"),
            std::string::npos);
}

TEST(XmlLimitsTest, LimitsNodesCountingAttributesAndText) {
  Limits limits;
  limits.max_nodes = 5;
  EXPECT_TRUE(Check("<r a=\"1\"><b>t</b><c/></r>", limits).ok());  // r, a, b, t, c
  Status st = Check("<r a=\"1\" z=\"2\"><b>t</b><c/></r>", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "XML has more than 5 nodes (elements, attributes and text; the limit is server.xml_max_nodes)");
  EXPECT_FALSE(Check("<r>" + Repeat("<a/>", 300000) + "</r>").ok());
}

TEST(XmlLimitsTest, RefusesInvalidUtf8AnywhereInTheDocument) {
  for (const std::string& text : {
           std::string("<r>\xC3\x28</r>"),          // a lead byte without its continuation
           std::string("<r>\xC0\xBC</r>"),          // overlong '<'
           std::string("<r>\xE0\x80\xAF</r>"),      // overlong '/'
           std::string("<r>\xED\xA0\x80</r>"),      // a UTF-16 surrogate
           std::string("<r>\xF4\x90\x80\x80</r>"),  // above U+10FFFF
           std::string("<r a=\"\xFF\"/>"),
           std::string("<r\xFE/>"),
           std::string("<r><![CDATA[\xC3]]></r>"),
       }) {
    Status st = Check(text);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << testing::PrintToString(text);
    EXPECT_NE(st.message().find("not valid UTF-8"), std::string::npos) << st.message();
  }
  // Comments are dropped while parsing: nothing of them reaches a reader.
  EXPECT_TRUE(Check("<r><!-- \xC3 --></r>").ok());
  // A NUL byte, even after the root element (where pugixml alone would stop reading).
  EXPECT_EQ(Check(std::string("<r>x</r>\0<junk", 14)).message(), "XML parse error at offset 8: a NUL byte");
  EXPECT_EQ(Check(std::string("<r>\0</r>", 8)).message(), "XML parse error at offset 3: a NUL byte");
  // A character reference to a surrogate decodes to bytes that are not UTF-8: the tree is
  // checked whenever the text has one, even when its own bytes are all valid.
  Status ref = Check("<r>&#xD800;</r>");
  EXPECT_EQ(ref.code(), StatusCode::kInvalidArgument) << ref.message();
  EXPECT_TRUE(Check("<r a=\"&#x4E2D;\">&#20013;&amp;&lt;</r>").ok());
  // Long ASCII runs (read eight bytes at a time) with a bad byte after them, in a value.
  EXPECT_EQ(Check("<r>" + std::string(37, 'x') + "\xC3(</r>").code(), StatusCode::kInvalidArgument);
  // Other encodings are converted to UTF-8 first and are fine.
  EXPECT_TRUE(Check("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>\xE9</r>").ok());
}

// A visitor sees every element once, in document order, as the check walks the document.
TEST(XmlLimitsTest, VisitorSeesEveryElementInDocumentOrder) {
  struct Names final : ElementVisitor {
    std::string seen;
    void Element(pugi::xml_node e) override { seen += std::string(e.name()) + " "; }
  } names;
  pugi::xml_document doc;
  ASSERT_TRUE(ParseBounded("<r a=\"1\"><b>t<i/></b><!-- x --><c><d/></c>tail</r>", &doc, Limits{}, 0,
                           pugi::encoding_auto, &names)
                  .ok());
  EXPECT_EQ(names.seen, "r b i c d ");
  Limits shallow;
  shallow.max_depth = 2;
  Names cut;
  pugi::xml_document deep;
  EXPECT_EQ(ParseBounded("<r><b><i/></b></r>", &deep, shallow, 0, pugi::encoding_auto, &cut).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(cut.seen, "r b ") << "the walk stops at the first failed check";
  // Inside generous limits the visitor's walk (pugixml's traversal) spends no stack on depth
  // either: 100,000 levels.
  struct Count final : ElementVisitor {
    std::size_t n = 0;
    void Element(pugi::xml_node) override { ++n; }
  } count;
  Limits generous;
  generous.max_depth = 1000000;
  generous.max_nodes = 1000000;
  pugi::xml_document deeper;
  ASSERT_TRUE(ParseBounded(Repeat("<a>", 100000) + Repeat("</a>", 100000), &deeper, generous, 0,
                           pugi::encoding_auto, &count)
                  .ok());
  EXPECT_EQ(count.n, 100000u);
}

// ParseBounded skips the walk of checks when the bytes prove the limits hold (counting '<' and
// '='). Whatever path it takes, it must accept and refuse exactly what the full walk does: random
// documents (elements, attributes, text, CDATA, comments, declarations) against limits around
// their own size and depth.
TEST(XmlLimitsTest, ByteBoundsAgreeWithTheFullCheck) {
  std::mt19937 rng(20261201);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  int fast_candidates = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = pick(3) == 0 ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" : "";
    if (pick(10) == 0) text += "<!DOCTYPE r>";
    // A random tree, written without recursion: open or close elements, add text or attributes.
    std::vector<std::string> open;
    text += "<r";
    open.push_back("r");
    bool in_start_tag = true;
    for (int step = 0, steps = 1 + pick(60); step < steps; ++step) {
      const int what = pick(7);
      if (what == 0 && in_start_tag) {
        text += " a" + std::to_string(step) + "=\"v=" + std::to_string(pick(100)) + "\"";
        continue;
      }
      if (in_start_tag) text += ">";
      in_start_tag = false;
      if (what <= 2) {
        const std::string name = std::string(1, static_cast<char>('a' + pick(5)));
        text += "<" + name;
        open.push_back(name);
        in_start_tag = true;
      } else if (what == 3 && open.size() > 1) {
        text += "</" + open.back() + ">";
        open.pop_back();
      } else if (what == 4) {
        text += pick(2) ? "text = a &lt; b" : "苏州";
      } else if (what == 5) {
        text += pick(2) ? "<![CDATA[x<y]]>" : "<!-- c -->";
      } else {
        text += "<e" + std::string(pick(2) ? " k=\"1\"" : "") + "/>";
      }
    }
    if (in_start_tag) text += ">";
    while (!open.empty()) {
      text += "</" + open.back() + ">";
      open.pop_back();
    }
    if (pick(20) == 0) text += "<!DOCTYPE r>";  // pugixml takes one after the root element too
    pugi::xml_document parsed;
    ASSERT_TRUE(parsed.load_buffer(text.data(), text.size(), kParseOptions)) << text;
    Limits limits;
    limits.max_depth = 1 + static_cast<std::size_t>(pick(12));
    limits.max_nodes = 1 + static_cast<std::size_t>(pick(200));
    const Status full = CheckDocument(parsed, limits);
    pugi::xml_document doc;
    const Status fast = ParseBounded(text, &doc, limits);
    EXPECT_EQ(fast.code(), full.code()) << text << "\n" << fast.message() << " / " << full.message();
    EXPECT_EQ(fast.message(), full.message()) << text;
    if (full.ok()) ++fast_candidates;
  }
  EXPECT_GT(fast_candidates, 300) << "the generator should make many documents inside their limits";
}

TEST(XmlLimitsTest, Utf8Validator) {
  std::size_t at = 0;
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xE4\xB8\xAD\xF0\x9F\x98\x80"));  // 中 and an emoji
  EXPECT_FALSE(IsValidUtf8("ab\xC3", &at));
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  const std::string run = std::string(21, 'a');  // past two 8-byte words
  EXPECT_FALSE(IsValidUtf8(run + "\xE4\xB8", &at));
  EXPECT_EQ(at, 21u);
  EXPECT_TRUE(IsValidUtf8(run + "\xE4\xB8\xAD" + run + "\xE4\xB8\xAD"));
  EXPECT_FALSE(IsValidUtf8(run + "\xE4\xB8\xAD" + run + "\xFF" + run, &at));
  EXPECT_EQ(at, 45u);
}

TEST(XmlLimitsTest, ProcessLimitsAreSetOnce) {
  const Limits before = ProcessLimits();
  EXPECT_EQ(before.max_depth, 256u);
  EXPECT_EQ(before.max_nodes, 200000u);
  SetProcessLimits(Limits{10, 20});
  EXPECT_EQ(ProcessLimits().max_depth, 10u);
  EXPECT_EQ(ProcessLimits().max_nodes, 20u);
  SetProcessLimits(before);
}

TEST(XmlGuardTest, TheConnectorsCopyAgrees) {
  using connectors::ParseXmlGuarded;
  using connectors::XmlGuardLimits;
  pugi::xml_document doc;
  EXPECT_EQ(ParseXmlGuarded("<r a=\"1\"><b>t</b></r>", &doc), "");
  EXPECT_EQ(ParseXmlGuarded("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>", &doc),
            "XML with a DOCTYPE is refused");
  EXPECT_EQ(ParseXmlGuarded("<a><b><c/></b></a>", &doc, pugi::encoding_auto, XmlGuardLimits{2, 100}),
            "XML nested deeper than 2 levels");
  EXPECT_EQ(ParseXmlGuarded("<a x=\"1\"><b/></a>", &doc, pugi::encoding_auto, XmlGuardLimits{10, 2}),
            "XML has more than 2 nodes");
  EXPECT_EQ(ParseXmlGuarded("<a><b></a>", &doc).rfind("not well-formed XML: Start-end tags mismatch at offset", 0), 0u);
  EXPECT_NE(ParseXmlGuarded(Repeat("<a>", 100000) + Repeat("</a>", 100000), &doc), "");
  // As the hub's: one root, nothing beside it, GBK read when declared.
  EXPECT_EQ(ParseXmlGuarded("<r/><r/>", &doc), "not well-formed XML: a second root element at offset 5");
  EXPECT_EQ(ParseXmlGuarded("<r/>x", &doc), "not well-formed XML: text outside the root element at offset 4");
  EXPECT_EQ(ParseXmlGuarded("", &doc), "not well-formed XML: no root element");
  ASSERT_EQ(ParseXmlGuarded("<?xml version=\"1.0\" encoding=\"GBK\"?><r>\xBA\xBC</r>", &doc), "");
  EXPECT_STREQ(doc.child("r").text().get(), "杭");
}

}  // namespace
}  // namespace channelhub::xml
