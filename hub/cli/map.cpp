#include "hub/cli/map.hpp"

#include <rapidjson/prettywriter.h>

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

std::string Pretty(const std::string& compact) {
  rapidjson::Document d;
  if (!json::Parse(compact, &d).ok()) return compact;
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  d.Accept(w);
  return sb.GetString();
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
};

// The document re-serialised without indentation, or "" when it is not XML.
std::string NormalXml(const std::string& text) {
  pugi::xml_document doc;
  if (!doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_declaration)) return "";
  StringWriter w;
  doc.save(w, "", pugi::format_raw);
  return w.out;
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
  for (const auto& e : fs::directory_iterator(file.parent_path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind(stem + ".", 0) != 0) continue;
    if (name.ends_with(".in.json") || name.ends_with(".in.xml")) inputs.push_back(e.path());
  }
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    std::printf("FAIL %s: no fixtures; add %s.<case>.in.json (or .in.xml) and %s.<case>.out.json beside it\n",
                file.string().c_str(), stem.c_str(), stem.c_str());
    ++*failed;
    return;
  }
  for (const fs::path& in : inputs) {
    std::string name = in.filename().string();
    const std::string base = name.substr(0, name.rfind(".in."));
    const std::string label = file.string() + ": " + base.substr(stem.size() + 1);
    fs::path out_file = in.parent_path() / (base + ".out.json");
    const fs::path xml_out = in.parent_path() / (base + ".out.xml");
    if (!fs::exists(out_file) && fs::exists(xml_out)) out_file = xml_out;
    const fs::path err_file = in.parent_path() / (base + ".error.txt");
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
      std::printf("FAIL %s: no %s (or %s)\n", label.c_str(), out_file.filename().string().c_str(),
                  err_file.filename().string().c_str());
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
      if (!want.empty() && want == have) {
        std::printf("PASS %s\n", label.c_str());
        ++*passed;
      } else {
        std::printf("FAIL %s: the result differs from %s; it is:\n%s\n", label.c_str(),
                    out_file.filename().string().c_str(), got->c_str());
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
    (void)json::Parse(*got, &have);
    if (want == have) {
      std::printf("PASS %s\n", label.c_str());
      ++*passed;
    } else {
      std::printf("FAIL %s: the result differs from %s; it is:\n%s\n", label.c_str(),
                  out_file.filename().string().c_str(), Pretty(*got).c_str());
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
