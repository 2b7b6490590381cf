#include "hub/cli/map.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <pugixml.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "hub/common/json.hpp"
#include "hub/mapping/engine.hpp"

namespace channelhub::cli {
namespace {

namespace fs = std::filesystem;

std::string SchemaDirFor(const fs::path& mapping, const std::string& given) {
  if (!given.empty()) return given;
  for (fs::path dir = fs::absolute(mapping).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / "schema" / "order.schema.json")) return (dir / "schema").string();
    if (dir == dir.parent_path()) break;
  }
  return "mappings/schema";
}

bool ReadAll(const fs::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Indented, with every number as the mapping wrote it (a DOM would pass them through doubles:
// 12.50 would print as 12.5).
struct PrettyNumbers : rapidjson::PrettyWriter<rapidjson::StringBuffer> {
  using PrettyWriter::PrettyWriter;
  // The writer's own RawNumber quotes the digits; a raw value does not.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return RawValue(s, n, rapidjson::kNumberType); }
};

std::string Pretty(const std::string& compact) {
  rapidjson::StringBuffer sb;
  PrettyNumbers w(sb);
  w.SetIndent(' ', 2);
  rapidjson::Reader reader;
  rapidjson::StringStream in(compact.c_str());
  if (reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(in, w).IsError()) {
    return compact;
  }
  return sb.GetString();
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
};

// Attributes in name order, at every element: their order carries no meaning in XML.
void SortAttributes(pugi::xml_node n) {
  std::vector<std::pair<std::string, std::string>> attrs;
  for (pugi::xml_attribute a : n.attributes()) attrs.emplace_back(a.name(), a.value());
  if (attrs.size() > 1) {
    std::stable_sort(attrs.begin(), attrs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    while (n.first_attribute()) n.remove_attribute(n.first_attribute());
    for (const auto& [name, value] : attrs) n.append_attribute(name.c_str()).set_value(value.c_str());
  }
  for (pugi::xml_node c : n.children()) {
    if (c.type() == pugi::node_element) SortAttributes(c);
  }
}

// The document as compared: re-serialised with attributes in name order, without its
// <?xml ...?> declaration, indented with "indent" (none: one line); "" when it is not XML.
std::string NormalXml(const std::string& text, const char* indent = "") {
  pugi::xml_document doc;
  if (!doc.load_buffer(text.data(), text.size(), pugi::parse_default)) return "";
  SortAttributes(doc.document_element());
  StringWriter w;
  doc.save(w, indent, (*indent ? pugi::format_indent : pugi::format_raw) | pugi::format_no_declaration);
  return w.out;
}

// Where two JSON values first differ, as "at lines[1].sku: expected "A", got "B"", or "".
std::string Compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  std::string s(sb.GetString(), sb.GetSize());
  return s.size() > 120 ? s.substr(0, 117) + "..." : s;
}

std::string FirstDifference(const rapidjson::Value& want, const rapidjson::Value& have, const std::string& at) {
  const std::string where = at.empty() ? "the top" : at;
  if (want.IsObject() && have.IsObject()) {
    for (const auto& m : want.GetObject()) {
      const std::string key(m.name.GetString(), m.name.GetStringLength());
      const std::string path = at.empty() ? key : at + "." + key;
      auto h = have.FindMember(m.name);
      if (h == have.MemberEnd()) return "at " + path + ": expected " + Compact(m.value) + ", but it is missing";
      std::string d = FirstDifference(m.value, h->value, path);
      if (!d.empty()) return d;
    }
    for (const auto& m : have.GetObject()) {
      if (!want.HasMember(m.name)) {
        const std::string key(m.name.GetString(), m.name.GetStringLength());
        return "at " + (at.empty() ? key : at + "." + key) + ": not expected, got " + Compact(m.value);
      }
    }
    return "";
  }
  if (want.IsArray() && have.IsArray()) {
    for (rapidjson::SizeType i = 0; i < want.Size() && i < have.Size(); ++i) {
      std::string d = FirstDifference(want[i], have[i], at + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    if (want.Size() != have.Size()) {
      return "at " + where + ": expected " + std::to_string(want.Size()) + " elements, got " +
             std::to_string(have.Size());
    }
    return "";
  }
  if (want == have) return "";
  return "at " + where + ": expected " + Compact(want) + ", got " + Compact(have);
}

// The first line where two indented XML texts differ, as "line N: expected ..., got ...".
std::string FirstXmlDifference(const std::string& want, const std::string& have) {
  std::istringstream a(want), b(have);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "";
    if (!ha || !hb || la != lb) {
      return "line " + std::to_string(line) + " (indented, attributes sorted): expected " +
             (ha ? "\"" + la + "\"" : "the end") + ", got " + (hb ? "\"" + lb + "\"" : "the end");
    }
  }
}

std::shared_ptr<const mapping::CompiledMapping> Load(const fs::path& file, const std::string& schema_dir) {
  mapping::MappingLoadResult r = mapping::LoadMapping(file.string(), SchemaDirFor(file, schema_dir));
  for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
  return r.mapping;
}

int TryOne(const MapOptions& o) {
  auto m = Load(o.mapping, o.schema_dir);
  if (!m) return 2;
  if (!o.direction.empty() && (o.direction == "out") != mapping::MappingIsOutbound(*m)) {
    std::fprintf(stderr, "%s: --direction %s, but the file is a direction: %s mapping\n",
                 o.mapping.c_str(), o.direction.c_str(),
                 mapping::MappingIsOutbound(*m) ? "out" : "in");
    return 2;
  }
  std::string payload;
  if (!ReadAll(o.input, &payload)) {
    std::fprintf(stderr, "%s: cannot read the input file\n", o.input.c_str());
    return 2;
  }
  auto out = mapping::RunMapping(*m, payload);
  if (!out.ok()) {
    std::fprintf(stderr, "%s\n", out.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", mapping::MappingIsOutbound(*m) && !out->empty() && out->front() == '<'
                         ? out->c_str()
                         : Pretty(*out).c_str());
  return 0;
}

bool IsMappingFile(const fs::path& p) {
  const auto ext = p.extension();
  if (ext != ".yaml" && ext != ".yml") return false;
  for (const auto& part : p) {
    if (part == "schema") return false;
  }
  return true;
}

// Runs every fixture of one mapping file; returns false when any failed.
void CheckOne(const fs::path& file, const std::string& schema_dir, int* passed, int* failed) {
  auto m = Load(file, schema_dir);
  if (!m) {
    std::printf("FAIL %s: the mapping does not load (see above)\n", file.string().c_str());
    ++*failed;
    return;
  }
  const std::string stem = file.stem().string();
  std::vector<fs::path> inputs;
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::vector<fs::path> others;  // outputs and expected errors, to find those without an input
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(stem + ".", 0) != 0) continue;
    if (name.ends_with(".in.json") || name.ends_with(".in.xml")) inputs.push_back(e.path());
    if (name.ends_with(".out.json") || name.ends_with(".out.xml") || name.ends_with(".error.txt")) {
      others.push_back(e.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  std::sort(others.begin(), others.end());
  for (const fs::path& o : others) {  // a case whose input was renamed or never written
    const std::string name = o.filename().string();
    const std::string base = name.substr(0, name.rfind(name.ends_with(".error.txt") ? ".error." : ".out."));
    if (!fs::exists(dir / (base + ".in.json")) && !fs::exists(dir / (base + ".in.xml"))) {
      std::printf("FAIL %s: %s has no input beside it (%s.in.json or %s.in.xml)\n", file.string().c_str(),
                  name.c_str(), base.c_str(), base.c_str());
      ++*failed;
    }
  }
  if (inputs.empty()) {
    std::printf("FAIL %s: no fixtures; add %s.<case>.in.json (or .in.xml) and %s.<case>.out.json beside it\n",
                file.string().c_str(), stem.c_str(), stem.c_str());
    ++*failed;
    return;
  }
  for (const fs::path& in : inputs) {
    std::string name = in.filename().string();
    const std::string base = name.substr(0, name.rfind(".in."));
    if (base.size() <= stem.size() + 1) {  // "<stem>.in.json": no case name
      std::printf("FAIL %s: %s has no case name; call it %s.<case>%s, e.g. %s.paid%s\n", file.string().c_str(),
                  name.c_str(), stem.c_str(), name.substr(base.size()).c_str(), stem.c_str(),
                  name.substr(base.size()).c_str());
      ++*failed;
      continue;
    }
    const std::string label = file.string() + ": " + base.substr(stem.size() + 1);
    const fs::path json_out = in.parent_path() / (base + ".out.json");
    const fs::path xml_out = in.parent_path() / (base + ".out.xml");
    const fs::path err_file = in.parent_path() / (base + ".error.txt");
    const int expectations = fs::exists(json_out) + fs::exists(xml_out) + fs::exists(err_file);
    if (expectations > 1) {
      std::printf("FAIL %s: more than one of %s, %s and %s; keep the one this case expects\n", label.c_str(),
                  json_out.filename().string().c_str(), xml_out.filename().string().c_str(),
                  err_file.filename().string().c_str());
      ++*failed;
      continue;
    }
    const fs::path out_file = fs::exists(xml_out) ? xml_out : json_out;
    std::string payload, expected;
    ReadAll(in, &payload);
    auto got = mapping::RunMapping(*m, payload);
    if (ReadAll(err_file, &expected)) {  // the case must fail with this message fragment
      while (!expected.empty() && (expected.back() == '\n' || expected.back() == '\r')) expected.pop_back();
      if (!got.ok() && got.status().message().find(expected) != std::string::npos) {
        std::printf("PASS %s\n", label.c_str());
        ++*passed;
      } else {
        std::printf("FAIL %s: expected an error containing \"%s\", got %s\n", label.c_str(), expected.c_str(),
                    got.ok() ? "a result" : ("\"" + got.status().message() + "\"").c_str());
        ++*failed;
      }
      continue;
    }
    if (!ReadAll(out_file, &expected)) {
      const bool xml_result = mapping::MappingIsOutbound(*m) && mapping::MappingWritesXml(*m);
      std::printf("FAIL %s: no expected result; add %s (or %s for a case that must fail)\n", label.c_str(),
                  (xml_result ? xml_out : json_out).filename().string().c_str(), err_file.filename().string().c_str());
      ++*failed;
      continue;
    }
    if (!got.ok()) {
      std::printf("FAIL %s: %s\n", label.c_str(), got.status().message().c_str());
      ++*failed;
      continue;
    }
    if (out_file.extension() == ".xml") {  // compare the XML as pugixml reads and writes it
      const std::string want = NormalXml(expected), have = NormalXml(*got);
      if (want.empty()) {
        std::printf("FAIL %s: %s is not XML\n", label.c_str(), out_file.string().c_str());
        ++*failed;
      } else if (have.empty()) {
        std::printf("FAIL %s: %s expects XML, but the mapping writes:\n%s\n", label.c_str(),
                    out_file.filename().string().c_str(), got->c_str());
        ++*failed;
      } else if (want == have) {
        std::printf("PASS %s\n", label.c_str());
        ++*passed;
      } else {
        std::printf("FAIL %s: the result differs from %s, first at %s; it is:\n%s\n", label.c_str(),
                    out_file.filename().string().c_str(),
                    FirstXmlDifference(NormalXml(expected, "  "), NormalXml(*got, "  ")).c_str(), got->c_str());
        ++*failed;
      }
      continue;
    }
    rapidjson::Document want, have;
    Status ws = json::Parse(expected, &want);
    if (!ws.ok()) {
      std::printf("FAIL %s: %s: %s\n", label.c_str(), out_file.string().c_str(), ws.message().c_str());
      ++*failed;
      continue;
    }
    if (!json::Parse(*got, &have).ok()) {
      std::printf("FAIL %s: %s expects JSON, but the mapping writes:\n%s\n", label.c_str(),
                  out_file.filename().string().c_str(), got->c_str());
      ++*failed;
    } else if (want == have) {
      std::printf("PASS %s\n", label.c_str());
      ++*passed;
    } else {
      std::printf("FAIL %s: the result differs from %s, first %s; it is:\n%s\n", label.c_str(),
                  out_file.filename().string().c_str(), FirstDifference(want, have, "").c_str(),
                  Pretty(*got).c_str());
      ++*failed;
    }
  }
}

int CheckAll(const MapOptions& o) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(o.check, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(o.check)) {
      if (e.is_regular_file() && IsMappingFile(e.path())) files.push_back(e.path());
    }
  } else if (fs::is_regular_file(o.check, ec)) {
    files.push_back(o.check);
  } else {
    std::fprintf(stderr, "%s: no such file or directory\n", o.check.c_str());
    return 2;
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {  // an admin's CI pointed at the wrong folder must not pass
    std::fprintf(stderr, "%s: no mapping files (*.yaml, *.yml) to check\n", o.check.c_str());
    return 2;
  }
  int passed = 0, failed = 0;
  for (const auto& f : files) CheckOne(f, o.schema_dir, &passed, &failed);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int Map(const MapOptions& o) {
  if (!o.check.empty()) return CheckAll(o);
  if (o.mapping.empty() || o.input.empty()) {
    std::fprintf(stderr, "channelhub map: give --mapping FILE --input FILE, or --check FILE|DIR\n");
    return 2;
  }
  return TryOne(o);
}

}  // namespace channelhub::cli
