// `channelhub backup`: a consistent copy of the hub's SQLite files while it runs (SQLite's online
// backup API), checked before it is called done.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "hub/cli/serve.hpp"
#include "hub/common/time.hpp"
#include "hub/config/config.hpp"

namespace channelhub::cli {
namespace {

namespace fs = std::filesystem;

// Copies "from" into "to" page by page. The copy is one snapshot: a write by the running hub in
// between restarts the copy of the remaining pages (SQLite's backup API), so copying in steps
// lets the hub go on writing while the copy is made; the last step sees a consistent database.
Status Copy(const std::string& from, const std::string& to, int64_t* pages) {
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  auto close = [&] {
    if (src) sqlite3_close(src);
    if (dst) sqlite3_close(dst);
  };
  if (sqlite3_open_v2(from.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Status st = Status::IoError("cannot open " + from + ": " + sqlite3_errmsg(src));
    close();
    return st;
  }
  sqlite3_busy_timeout(src, 10000);
  const std::string tmp = to + ".partial";
  std::error_code ec;
  fs::remove(tmp, ec);
  if (sqlite3_open_v2(tmp.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    Status st = Status::IoError("cannot create " + tmp + ": " + sqlite3_errmsg(dst));
    close();
    return st;
  }
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) {
    Status st = Status::IoError(std::string("backup of ") + from + ": " + sqlite3_errmsg(dst));
    close();
    return st;
  }
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    rc = sqlite3_backup_step(b, 256);  // 1 MiB at a time; the hub's writer is never held long
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
  }
  *pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    Status st = Status::IoError("backup of " + from + " failed: " + sqlite3_errstr(rc));
    close();
    return st;
  }
  // The copy must be whole before it replaces an older one.
  char* err = nullptr;
  std::string result;
  sqlite3_exec(
      dst, "PRAGMA quick_check",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0] ? values[0] : "";
        return 0;
      },
      &result, &err);
  if (err) sqlite3_free(err);
  close();
  if (result != "ok") return Status(StatusCode::kCorruption, "the copy of " + from + " failed its check: " + result);
  fs::rename(tmp, to, ec);
  if (ec) return Status::IoError("cannot rename " + tmp + " to " + to + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

int Backup(const BackupOptions& options) {
  const std::optional<config::Config> loaded = LoadForCommand(options.config_path, options.data_dir);
  if (!loaded) return 2;
  const config::Config& cfg = *loaded;
  std::error_code ec;
  fs::create_directories(options.to, ec);
  if (ec) {
    std::fprintf(stderr, "channelhub: cannot create %s: %s\n", options.to.c_str(), ec.message().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> files = {{cfg.data_dir + "/journal.db", "journal.db"}};
  if (!cfg.master_destination.empty()) files.emplace_back(cfg.master.path, "master.db");
  const auto started = std::chrono::steady_clock::now();
  for (const auto& [from, name] : files) {
    if (!fs::exists(from)) {
      std::fprintf(stderr, "channelhub: %s does not exist (has the hub run with this configuration?)\n", from.c_str());
      return 1;
    }
    int64_t pages = 0;
    Status st = Copy(from, (fs::path(options.to) / name).string(), &pages);
    if (!st.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", st.message().c_str());
      return 1;
    }
    std::printf("%s -> %s (%lld pages, checked)\n", from.c_str(), (fs::path(options.to) / name).c_str(),
                static_cast<long long>(pages));
  }
  std::printf("backup done in %lld ms; to restore: stop the hub, copy the files into %s, start it\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()),
              cfg.data_dir.c_str());
  return 0;
}

}  // namespace channelhub::cli
