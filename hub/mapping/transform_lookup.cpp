// The lookup transform and its CSV reader.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hub/mapping/transform.hpp"
#include "hub/mapping/transform_internal.hpp"

namespace channelhub::mapping::internal {
namespace {

using Kind = Scalar::Kind;

// Lookup tables are loaded whole into memory; larger files are refused at load.
constexpr size_t kMaxCsvBytes = 16 << 20;

enum class OnMissing { kError, kKeep, kNull, kDefault };

class Lookup final : public Transform {
 public:
  Lookup(std::map<std::string, std::string, std::less<>> table, OnMissing on_missing,
         std::string fallback, std::string source)
      : Transform("lookup", {Kind::kString, Kind::kInteger, Kind::kBoolean}, Kind::kString),
        table_(std::move(table)),
        on_missing_(on_missing),
        fallback_(std::move(fallback)),
        source_(std::move(source)) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    auto it = table_.find(in.text());
    if (it != table_.end()) return Scalar::String(it->second);
    switch (on_missing_) {
      case OnMissing::kKeep:
        return Scalar::String(in.text());
      case OnMissing::kNull:
        return Scalar();
      case OnMissing::kDefault:
        return Scalar::String(fallback_);
      case OnMissing::kError:
        break;
    }
    return ValueError(in.text(), "is not a key of " + source_);
  }

  std::map<std::string, std::string, std::less<>> table_;
  OnMissing on_missing_;
  std::string fallback_;
  std::string source_;  // "the inline table" or "file \"/path/groups.csv\"", for errors
};

// Reads a whole file; IoError with the path and the OS reason.
Result<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::IoError("cannot read \"" + path + "\": " + std::strerror(EISDIR));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::IoError("cannot read \"" + path + "\": " + std::strerror(errno));
  }
  std::string data;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    data.append(buf, n);
    if (data.size() > kMaxCsvBytes) {
      std::fclose(f);
      return Status::IoError("\"" + path + "\" is larger than the " +
                             std::to_string(kMaxCsvBytes >> 20) + " MiB a lookup table may have");
    }
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) return Status::IoError("cannot read \"" + path + "\": " + std::strerror(err));
  return data;
}

// Parses RFC 4180 CSV: fields separated by ',', optionally in double quotes with "" for a quote;
// lines end in LF or CRLF. A UTF-8 byte order mark (Excel writes one) is skipped. Each row is
// returned with the line it starts on.
struct CsvRow {
  int line;
  std::vector<std::string> fields;
};

Result<std::vector<CsvRow>> ParseCsv(std::string_view data, const std::string& where) {
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
  std::vector<CsvRow> rows;
  int line = 1;
  size_t i = 0;
  while (i < data.size()) {
    CsvRow row{line, {}};
    std::string field;
    bool row_done = false;
    while (!row_done) {
      field.clear();
      if (i < data.size() && data[i] == '"') {
        int start_line = line;
        ++i;
        while (true) {
          if (i >= data.size()) {
            return Status::Invalid(where + " line " + std::to_string(start_line) +
                                   ": a quoted field is not closed");
          }
          if (data[i] == '"') {
            if (i + 1 < data.size() && data[i + 1] == '"') {
              field += '"', i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (data[i] == '\n') ++line;
          field += data[i++];
        }
        if (i < data.size() && data[i] != ',' && data[i] != '\n' &&
            !(data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n')) {
          return Status::Invalid(where + " line " + std::to_string(line) +
                                 ": text after a closing quote");
        }
      } else {
        while (i < data.size() && data[i] != ',' && data[i] != '\n') field += data[i++];
        if (!field.empty() && field.back() == '\r' && (i >= data.size() || data[i] == '\n')) {
          field.pop_back();
        }
      }
      if (i < data.size() && data[i] == '\r') ++i;
      row.fields.push_back(field);
      if (i >= data.size() || data[i] == '\n') {
        row_done = true;
        if (i < data.size()) ++i, ++line;
      } else {
        ++i;  // ','
      }
    }
    bool blank = row.fields.size() == 1 && row.fields[0].empty();
    if (!blank) rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::map<std::string, std::string, std::less<>>> LoadCsvTable(const ArgReader& a,
                                                                     const std::string& path) {
  std::string where = a.transform() + ": file \"" + path + "\"";
  Result<std::string> data = ReadWholeFile(path);
  if (!data.ok())
    return Status(data.status().code(), a.transform() + ": " + data.status().message());
  Result<std::vector<CsvRow>> rows = ParseCsv(*data, where);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::Invalid(where + ": is empty; expected a header row key,value");
  std::map<std::string, std::string, std::less<>> table;
  std::map<std::string, int, std::less<>> first_line;
  for (size_t r = 0; r < rows->size(); ++r) {
    const CsvRow& row = (*rows)[r];
    if (row.fields.size() != 2) {
      return Status::Invalid(where + " line " + std::to_string(row.line) + ": expected 2 columns " +
                             "(key,value), got " + std::to_string(row.fields.size()));
    }
    if (r == 0) continue;  // the header row
    auto [it, inserted] = first_line.emplace(row.fields[0], row.line);
    if (!inserted) {
      return Status::Invalid(where + " line " + std::to_string(row.line) + ": duplicate key " +
                             Quote(row.fields[0]) + " (first on line " +
                             std::to_string(it->second) + ")");
    }
    table.emplace(row.fields[0], row.fields[1]);
  }
  return table;
}

}  // namespace

std::vector<Registration> LookupTransforms() {
  std::vector<Registration> r;
  r.push_back(
      {{"lookup",
        "string, integer, boolean -> string (or null: on_missing)",
        "maps a code to another through an inline table or a two-column CSV file (key,value with "
        "a header row)",
        {{"file", false, "",
          "a CSV file, relative to the mapping file's folder; instead of an inline table"},
         {"on_missing", false, "error", "error, keep (the input), null, or default"},
         {"default", false, "", "the value for a missing key; only with on_missing: default"}},
        true},
       [](const ArgReader& a, const std::string& base_dir) -> Result<std::unique_ptr<Transform>> {
         Result<std::string> on = a.OneOf("on_missing", {"error", "keep", "null", "default"});
         if (!on.ok()) return on.status();
         OnMissing on_missing = *on == "keep"      ? OnMissing::kKeep
                                : *on == "null"    ? OnMissing::kNull
                                : *on == "default" ? OnMissing::kDefault
                                                   : OnMissing::kError;
         if (on_missing == OnMissing::kDefault && !a.Has("default")) {
           return a.Fail("on_missing: default needs a \"default\" argument");
         }
         if (on_missing != OnMissing::kDefault && a.Has("default")) {
           return a.Fail("argument \"default\" is only used with on_missing: default");
         }
         bool has_file = a.Has("file");
         if (has_file == !a.table().empty()) {
           return a.Fail(has_file ? "give either a table or a \"file\", not both"
                                  : "needs a table or a \"file\" argument");
         }
         if (!has_file) {
           std::map<std::string, std::string, std::less<>> table(a.table().begin(),
                                                                 a.table().end());
           return std::unique_ptr<Transform>(std::make_unique<Lookup>(
               std::move(table), on_missing, a.Get("default").value_or(""), "the inline table"));
         }
         std::string file = a.Get("file").value_or("");
         if (file.empty()) return a.Error("file", "a file name");
         std::filesystem::path path(file);
         if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
         Result<std::map<std::string, std::string, std::less<>>> table =
             LoadCsvTable(a, path.string());
         if (!table.ok()) return table.status();
         return std::unique_ptr<Transform>(
             std::make_unique<Lookup>(std::move(*table), on_missing, a.Get("default").value_or(""),
                                      "file \"" + path.string() + "\""));
       }});
  return r;
}

}  // namespace channelhub::mapping::internal
