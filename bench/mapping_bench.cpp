// Mapping throughput: a mapping file run on one payload (parse + rules + transforms + canonical
// check + serialising the entity) next to the raw parse of the same bytes.
//
//   (a) a ~2 KB Shopify order through mappings/shopify/orders_create.to_canon.yaml
//       vs rapidjson::Document::Parse
//   (b) a ~6 KB SAP ORDERS05 IDoc through mappings/sap/orders05.to_canon.yaml
//       vs pugi::xml_document::load_buffer, and vs that parse plus one pass over the elements
//       (the least a mapping that reads the tree by XPath does)
//   (c) floors: RapidJSON's SAX reader with a handler that does nothing (the least any JSON
//       mapping does: tokenize, no tree), and, when their headers are installed, the two
//       streaming XML parsers Debian ships (expat, libxml2's SAX) with handlers that do nothing,
//       to show whether a streaming design could beat the pugixml tree the XML target is set
//       against.
//
// The inputs are built from the shipped fixtures (orders_create.to_canon.paid.in.json,
// orders05.to_canon.dealer.in.xml) by repeating line items / E1EDP01 segments until the size is
// reached. The repository is found from this file's path (__FILE__), or from $CHANNELHUB_ROOT.
//
//   build-bench/bench/mapping_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <pugixml.hpp>
#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "hub/mapping/engine.hpp"

#ifdef CHUB_BENCH_EXPAT
#include <expat.h>
#endif
#ifdef CHUB_BENCH_LIBXML2
#include <libxml/parser.h>
#endif

namespace fs = std::filesystem;
namespace mp = channelhub::mapping;

namespace {

constexpr std::size_t kOrderBytes = 2 * 1024;
constexpr std::size_t kIdocBytes = 6 * 1024;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "mapping_bench: %s\n", what.c_str());
  std::exit(1);
}

fs::path RepoRoot() {
  if (const char* env = std::getenv("CHANNELHUB_ROOT"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  fs::path here = fs::absolute(fs::path(__FILE__));  // <repo>/bench/mapping_bench.cpp
  fs::path root = here.parent_path().parent_path();
  if (!fs::exists(root / "mappings" / "schema")) {
    Die("cannot find the repository from " + here.string() + "; set CHANNELHUB_ROOT");
  }
  return root;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) Die("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<const mp::CompiledMapping> Load(const fs::path& root, const char* rel) {
  mp::MappingLoadResult r =
      mp::LoadMapping((root / "mappings" / rel).string(), (root / "mappings" / "schema").string());
  if (!r.diagnostics.empty()) {
    std::string msg;
    for (const auto& d : r.diagnostics) msg += d.ToString() + "\n";
    Die(msg);
  }
  return r.mapping;
}

// The Shopify fixture with its line items repeated (new ids, skus and prices) up to kOrderBytes,
// written as compact JSON.
std::string BuildOrder(const fs::path& root) {
  const std::string src =
      ReadFile(root / "mappings/shopify/orders_create.to_canon.paid.in.json");
  rapidjson::Document doc;
  doc.Parse(src.data(), src.size());
  if (doc.HasParseError() || !doc.HasMember("line_items")) Die("bad Shopify fixture");
  auto& alloc = doc.GetAllocator();
  rapidjson::Value templ(doc["line_items"], alloc);  // the fixture's items, to copy from
  auto serialise = [&doc] {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    doc.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
  };
  std::string out = serialise();
  for (unsigned n = 0; out.size() < kOrderBytes; ++n) {
    rapidjson::Value item(templ[n % templ.Size()], alloc);
    item["id"].SetUint(doc["line_items"].Size() + 1);
    std::string sku = "SKU-" + std::to_string(1000 + n);
    item["sku"].SetString(sku.c_str(), static_cast<rapidjson::SizeType>(sku.size()), alloc);
    std::string price = std::to_string(10 + n % 90) + ".50";
    item["price"].SetString(price.c_str(), static_cast<rapidjson::SizeType>(price.size()), alloc);
    doc["line_items"].PushBack(item, alloc);
    out = serialise();
  }
  return out;
}

// The ORDERS05 fixture with its E1EDP01 items repeated (new POSEX and material ids) up to
// kIdocBytes, indented as SAP writes it.
std::string BuildIdoc(const fs::path& root) {
  const std::string src = ReadFile(root / "mappings/sap/orders05.to_canon.dealer.in.xml");
  pugi::xml_document doc;
  if (!doc.load_buffer(src.data(), src.size())) Die("bad ORDERS05 fixture");
  pugi::xml_node idoc = doc.child("ORDERS05").child("IDOC");
  std::vector<pugi::xml_node> templ;
  for (pugi::xml_node p : idoc.children("E1EDP01")) templ.push_back(p);
  if (templ.empty()) Die("ORDERS05 fixture has no E1EDP01");
  auto serialise = [&doc] {
    std::ostringstream ss;
    doc.save(ss, "  ");
    return ss.str();
  };
  std::string out = serialise();
  pugi::xml_node last = templ.back();
  for (unsigned n = 0; out.size() < kIdocBytes; ++n) {
    pugi::xml_node item = idoc.insert_copy_after(templ[n % templ.size()], last);
    last = item;
    const unsigned pos = static_cast<unsigned>(templ.size() + n + 1) * 10;
    char posex[8];
    std::snprintf(posex, sizeof posex, "%05u", pos);
    item.child("POSEX").text().set(posex);
    std::string idtnr = "00000000001000" + std::to_string(5000 + n);
    item.child("E1EDP19").child("IDTNR").text().set(idtnr.c_str());
    out = serialise();
  }
  return out;
}

struct Inputs {
  std::shared_ptr<const mp::CompiledMapping> shopify;
  std::shared_ptr<const mp::CompiledMapping> sap;
  std::string order;
  std::string idoc;
};

const Inputs& Get() {
  static const Inputs in = [] {
    Inputs i;
    const fs::path root = RepoRoot();
    i.shopify = Load(root, "shopify/orders_create.to_canon.yaml");
    i.sap = Load(root, "sap/orders05.to_canon.yaml");
    i.order = BuildOrder(root);
    i.idoc = BuildIdoc(root);
    // The inputs must map cleanly, or the benchmark measures the error path.
    for (const auto& [m, p] : {std::pair{i.shopify.get(), &i.order}, std::pair{i.sap.get(), &i.idoc}}) {
      auto r = mp::RunMappingEntities(*m, *p);
      if (!r.ok()) Die("input does not map: " + r.status().message());
    }
    if (const char* dump = std::getenv("MAPPING_BENCH_DUMP"); dump != nullptr && *dump != '\0') {
      std::ofstream(fs::path(dump) / "order.json", std::ios::binary) << i.order;
      std::ofstream(fs::path(dump) / "orders05.xml", std::ios::binary) << i.idoc;
    }
    return i;
  }();
  return in;
}

void Account(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["payload_bytes"] = static_cast<double>(bytes);
}

void BM_Shopify2K_Map(benchmark::State& state) {
  const Inputs& in = Get();
  for (auto _ : state) {
    auto r = mp::RunMappingEntities(*in.shopify, in.order);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  Account(state, in.order.size());
}

void BM_Shopify2K_RawParse(benchmark::State& state) {
  const Inputs& in = Get();
  for (auto _ : state) {
    rapidjson::Document doc;
    doc.Parse(in.order.data(), in.order.size());
    if (doc.HasParseError()) state.SkipWithError("parse error");
    benchmark::DoNotOptimize(doc);
  }
  Account(state, in.order.size());
}

void BM_SapOrders05_6K_Map(benchmark::State& state) {
  const Inputs& in = Get();
  for (auto _ : state) {
    auto r = mp::RunMappingEntities(*in.sap, in.idoc);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  Account(state, in.idoc.size());
}

void BM_SapOrders05_6K_RawParse(benchmark::State& state) {
  const Inputs& in = Get();
  for (auto _ : state) {
    pugi::xml_document doc;
    pugi::xml_parse_result r = doc.load_buffer(in.idoc.data(), in.idoc.size());
    if (!r) state.SkipWithError(r.description());
    benchmark::DoNotOptimize(doc);
  }
  Account(state, in.idoc.size());
}

// The floor of any mapping that reads a pugixml tree by XPath: the parse, then one pass over
// the elements reading each name (what a "//NAME" index costs), nothing else.
void BM_SapOrders05_6K_ParseAndWalk(benchmark::State& state) {
  const Inputs& in = Get();
  struct Names final : pugi::xml_tree_walker {
    bool for_each(pugi::xml_node& n) override {
      if (n.type() == pugi::node_element) sum += static_cast<unsigned char>(n.name()[0]);
      return true;
    }
    std::size_t sum = 0;
  };
  for (auto _ : state) {
    pugi::xml_document doc;
    pugi::xml_parse_result r = doc.load_buffer(in.idoc.data(), in.idoc.size());
    if (!r) state.SkipWithError(r.description());
    Names names;
    doc.traverse(names);
    benchmark::DoNotOptimize(names.sum);
  }
  Account(state, in.idoc.size());
}

// The JSON floor: RapidJSON's SAX reader, in place on a copy as the mapping parses, with a
// handler that keeps nothing.
void BM_Shopify2K_Tokenize(benchmark::State& state) {
  const Inputs& in = Get();
  std::string copy;
  for (auto _ : state) {
    copy = in.order;
    rapidjson::BaseReaderHandler<> nothing;
    rapidjson::Reader reader;
    rapidjson::InsituStringStream stream(copy.data());
    if (reader.Parse<rapidjson::kParseInsituFlag>(stream, nothing).IsError()) state.SkipWithError("parse error");
    benchmark::DoNotOptimize(copy);
  }
  Account(state, in.order.size());
}

#ifdef CHUB_BENCH_EXPAT
void BM_SapOrders05_6K_ExpatTokenize(benchmark::State& state) {
  const Inputs& in = Get();
  XML_Parser parser = XML_ParserCreate("UTF-8");
  for (auto _ : state) {
    XML_ParserReset(parser, "UTF-8");
    if (XML_Parse(parser, in.idoc.data(), static_cast<int>(in.idoc.size()), 1) != XML_STATUS_OK) {
      state.SkipWithError("expat: parse error");
    }
  }
  XML_ParserFree(parser);
  Account(state, in.idoc.size());
}
BENCHMARK(BM_SapOrders05_6K_ExpatTokenize);
#endif

#ifdef CHUB_BENCH_LIBXML2
void BM_SapOrders05_6K_Libxml2SaxTokenize(benchmark::State& state) {
  const Inputs& in = Get();
  xmlSAXHandler nothing{};
  for (auto _ : state) {
    if (xmlSAXUserParseMemory(&nothing, nullptr, in.idoc.data(), static_cast<int>(in.idoc.size())) != 0) {
      state.SkipWithError("libxml2: parse error");
    }
  }
  Account(state, in.idoc.size());
}
BENCHMARK(BM_SapOrders05_6K_Libxml2SaxTokenize);
#endif

}  // namespace

BENCHMARK(BM_Shopify2K_Map);
BENCHMARK(BM_Shopify2K_RawParse);
BENCHMARK(BM_Shopify2K_Tokenize);
BENCHMARK(BM_SapOrders05_6K_Map);
BENCHMARK(BM_SapOrders05_6K_RawParse);
BENCHMARK(BM_SapOrders05_6K_ParseAndWalk);

BENCHMARK_MAIN();
