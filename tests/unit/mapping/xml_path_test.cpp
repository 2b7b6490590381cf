// The direct evaluator of simple XPaths must select exactly what pugixml's XPath engine selects.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "hub/mapping/engine_internal.hpp"

namespace channelhub::mapping::internal {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Text of every selected node, as the engine reads values.
std::vector<std::string> Texts(const pugi::xpath_node_set& set) {
  std::vector<std::string> out;
  for (const auto& n : set) out.push_back(n.attribute() ? n.attribute().value() : n.node().text().get());
  return out;
}
std::vector<std::string> Texts(const std::vector<pugi::xpath_node>& v) {
  std::vector<std::string> out;
  for (const auto& n : v) out.push_back(n.attribute() ? n.attribute().value() : n.node().text().get());
  return out;
}

TEST(XmlPathTest, SelectsWhatPugixmlSelects) {
  const std::string xml = R"(<?xml version="1.0"?>
<R><A id="1"><Q>001</Q><V>x</V><V>y</V></A><A id="2"><Q>002</Q><V>z</V><B><A id="3"><Q>001</Q><V>n</V></A></B></A>
<C>text<D k="v">d1</D><D>d2</D></C></R>)";
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  const std::vector<std::string> paths = {
      "//A/V", "//A[Q='001']/V", "//A[@id='2']/V", "//A[2]/Q", "//A[1]/V", "/R/A/Q", "/R/A[2]/V",
      "//D/@k", "//D[@k='v']", "//C/text()", "//V", "/R/C/D[2]", "//A/B/A/V", "//Missing/X",
      "//A[Q='none']/V", "/R/A[3]/Q"};
  for (const std::string& p : paths) {
    NameTable names;
    auto fast = CompileXmlPath(p, &names);
    ASSERT_TRUE(fast) << p << " should have a direct form";
    XmlIndex index(&names);
    std::vector<pugi::xpath_node> got;
    SelectXml(*fast, doc, doc, &index, false, &got);
    EXPECT_EQ(Texts(got), Texts(pugi::xpath_query(p.c_str()).evaluate_node_set(doc))) << p;
    std::vector<pugi::xpath_node> first;
    SelectXml(*fast, doc, doc, &index, true, &first);
    EXPECT_EQ(first.size(), got.empty() ? 0u : 1u) << p;
  }
  // Relative to an element, as inside each:.
  pugi::xml_node a2 = doc.child("R").find_child_by_attribute("A", "id", "2");
  for (const std::string p : {"V", "Q", "B/A/V", "./V", "@id", "V[1]"}) {
    NameTable names;
    auto fast = CompileXmlPath(p, &names);
    ASSERT_TRUE(fast) << p;
    XmlIndex index(&names);
    std::vector<pugi::xpath_node> got;
    SelectXml(*fast, doc, a2, &index, false, &got);
    EXPECT_EQ(Texts(got), Texts(pugi::xpath_query(p.c_str()).evaluate_node_set(pugi::xpath_node(a2)))) << p;
  }
}

TEST(XmlPathTest, LeavesAnythingElseToPugixml) {
  NameTable names;
  for (const char* p : {"//A//B", "count(//A)", "//A | //B", "../A", "//A[Q='1' and V='2']", "//*",
                        "//A[position()>1]", "A/following-sibling::B", "//items/item[not(x)]", ""}) {
    EXPECT_FALSE(CompileXmlPath(p, &names)) << p;
  }
}

TEST(XmlPathTest, TheShippedIdocPathsMatchPugixml) {
  const fs::path dir = fs::path(CHUB_SOURCE_DIR) / "mappings" / "sap";
  for (const char* file : {"orders05.to_canon.dealer.in.xml", "debmas.to_canon.dealer.in.xml"}) {
    const std::string xml = Read(dir / file);
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_buffer(xml.data(), xml.size())) << file;
    for (const char* p : {"//E1EDK02[QUALF='001']/BELNR", "//E1EDKA1[PARVW='WE']/ORT01", "//E1EDP01",
                          "//E1EDS01[SUMID='002']/SUMME", "//EDI_DC40/DOCNUM", "//E1KNVVM[1]/VKORG",
                          "//E1KNA1M/NAME1"}) {
      NameTable names;
      auto fast = CompileXmlPath(p, &names);
      ASSERT_TRUE(fast) << p;
      XmlIndex index(&names);
      std::vector<pugi::xpath_node> got;
      SelectXml(*fast, doc, doc, &index, false, &got);
      EXPECT_EQ(Texts(got), Texts(pugi::xpath_query(p).evaluate_node_set(doc))) << file << " " << p;
    }
  }
}

}  // namespace
}  // namespace channelhub::mapping::internal
