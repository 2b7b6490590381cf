// A thin RAII layer over SQLite: a connection and prepared statements. Not thread-safe: one
// connection belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "hub/common/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace channelhub::journal {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT).
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, std::string_view text);
  Statement& BindBlob(int i, std::string_view bytes);
  Statement& BindNull(int i);

  // Runs one step. Returns true when a row is available, false when done; errors in "*status".
  bool Step(Status* status);
  // Runs to completion (for statements without rows).
  Status Run();
  // Resets the statement and clears its bindings so that it can run again.
  void Reset();

  int64_t Int(int col) const;
  std::string Text(int col) const;
  std::string_view TextView(int col) const;  // valid until the next Step/Reset

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating when missing) the database file. "busy_timeout_ms" is how long a statement
  // waits for another connection's lock.
  // "vfs" names a registered SQLite VFS ("" for the default; tests register faulty ones).
  static Result<std::unique_ptr<Database>> Open(const std::string& path, int busy_timeout_ms = 5000,
                                                const std::string& vfs = "");
  ~Database();

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // A statement prepared once per connection and reused; reset before it is returned.
  // The reference stays valid as long as the Database.
  Result<Statement*> Cached(const std::string& sql);
  int64_t Changes() const;
  int64_t LastInsertRowid() const;
  std::string LastError() const;
  sqlite3* raw() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, Statement> cache_;
};

}  // namespace channelhub::journal
