#include "hub/journal/journal.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <chrono>
#include <future>

#include "hub/common/seal.hpp"
#include "hub/common/time.hpp"
#include "spdlog/spdlog.h"

#include "hub/journal/sqlite.hpp"

namespace channelhub::journal {
namespace {

constexpr int kSchemaVersion = 1;

// The inbox is append-only: what has been processed is one cursor in "progress", moved in the
// same transaction that stores the results, so that no inbox row (with its body) is ever
// rewritten. CloudEvent payloads live once in "events"; outbox rows are small and are the only
// rows that delivery updates.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress(name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  topic TEXT NOT NULL,
  body BLOB NOT NULL,
  UNIQUE(source, event_id));
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  destination TEXT NOT NULL,
  event INTEGER NOT NULL,                    -- events.id
  subject TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  state INTEGER NOT NULL DEFAULT 0);         -- 0 pending, 1 delivered, 2 dead letter
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(destination, seq) WHERE state = 0;
CREATE INDEX IF NOT EXISTS outbox_subject ON outbox(destination, subject, seq) WHERE state = 0;
CREATE TABLE IF NOT EXISTS connector_state(
  name TEXT PRIMARY KEY,                     -- "poll:<source>", "token:<source or destination>"
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0,     -- Unix ms; 0 = does not expire
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stage TEXT NOT NULL,
  source TEXT NOT NULL,
  destination TEXT NOT NULL,
  event_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS attempts(       -- failed delivery attempts, for dead letters' history
  outbox_seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  error TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_by_row ON attempts(outbox_seq);
CREATE TABLE IF NOT EXISTS audit(          -- append-only: who replayed or dropped what, and when
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql";

constexpr const char* kProcessedSeq =
    "COALESCE((SELECT seq FROM progress WHERE name='processor'), 0)";

// Encryption at rest: the values that may carry personal data, each sealed with its place as
// associated data (a sealed value opens only in its own column). What stays in clear: ids,
// names of sources and destinations, types, subjects, times, states, poll cursors and tokens.
constexpr std::string_view kInboxBody = "journal.inbox.body";
constexpr std::string_view kEventPayload = "journal.events.payload";
constexpr std::string_view kDeadPayload = "journal.dead_letters.payload";
constexpr std::string_view kDeadReason = "journal.dead_letters.reason";
constexpr std::string_view kOutboxError = "journal.outbox.last_error";
constexpr std::string_view kAttemptError = "journal.attempts.error";
constexpr std::string_view kAuditDetail = "journal.audit.detail";

// Binds "value" as parameter "i", sealed when there is a keyring (as a blob), else as it was
// always bound.
void BindSealed(Statement& s, int i, const seal::Keyring* ring, std::string_view value, std::string_view aad,
                bool blob) {
  if (ring) {
    s.BindBlob(i, ring->Seal(value, aad));
  } else if (blob) {
    s.BindBlob(i, value);
  } else {
    s.Bind(i, value);
  }
}

// Opens "*field" (read from the column "aad") in place; plaintext stays as it is.
Status OpenField(const seal::Keyring* ring, std::string* field, std::string_view aad) {
  if (!seal::IsSealed(*field)) return Status::Ok();
  Result<std::string> plain = seal::UnsealOrPass(ring, *field, aad);
  if (!plain.ok()) return plain.status().Prepend(std::string(aad) + ": ");
  *field = std::move(plain).value();
  return Status::Ok();
}

// SQL: chub_open(value, aad) is the value opened (as text), for statements that look inside
// payloads (Resend's json_extract). An error naming the key id when it does not open.
void SqlOpen(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  const int type = sqlite3_value_type(argv[0]);
  if (type != SQLITE_BLOB && type != SQLITE_TEXT) {
    sqlite3_result_value(ctx, argv[0]);
    return;
  }
  const auto* p = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const std::string_view blob(p ? p : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
  if (!seal::IsSealed(blob)) {
    sqlite3_result_text(ctx, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    return;
  }
  const auto* a = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  const auto* ring = static_cast<const seal::Keyring*>(sqlite3_user_data(ctx));
  Result<std::string> plain = seal::UnsealOrPass(ring, blob, a ? a : "");
  if (!plain.ok()) {
    sqlite3_result_error(ctx, plain.status().message().c_str(), -1);
    return;
  }
  sqlite3_result_text(ctx, plain->data(), static_cast<int>(plain->size()), SQLITE_TRANSIENT);
}

Status RegisterSqlOpen(Database& db, const seal::Keyring* ring) {
  const int rc = sqlite3_create_function_v2(db.raw(), "chub_open", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                            const_cast<seal::Keyring*>(ring), SqlOpen, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Status::Internal("cannot register chub_open: " + db.LastError());
  return Status::Ok();
}

Status InsertDeadLetter(Database& db, const DeadLetter& d, const seal::Keyring* ring) {
  auto st = db.Cached(
      "INSERT INTO dead_letters(stage, source, destination, event_id, reason, payload, created_at, outbox_seq)"
      " VALUES(?,?,?,?,?,?,?,?)");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, d.stage).Bind(2, d.source).Bind(3, d.destination).Bind(4, d.event_id);
  BindSealed(s, 5, ring, d.reason, kDeadReason, false);
  BindSealed(s, 6, ring, d.payload, kDeadPayload, true);
  s.Bind(7, d.created_at_ms).Bind(8, d.outbox_seq);
  return s.Run();
}

Status InsertAttempt(Database& db, int64_t outbox_seq, int64_t at_ms, const std::string& error,
                     const seal::Keyring* ring) {
  auto st = db.Cached("INSERT INTO attempts(outbox_seq, at, error) VALUES(?,?,?)");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, outbox_seq).Bind(2, at_ms);
  BindSealed(**st, 3, ring, error, kAttemptError, false);
  return (*st)->Run();
}

Status InsertAudit(Database& db, const std::string& actor, const std::string& action, const std::string& target,
                   const std::string& detail, const seal::Keyring* ring) {
  auto st = db.Cached("INSERT INTO audit(at, actor, action, target, detail) VALUES(?,?,?,?,?)");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, NowUnixMillis()).Bind(2, actor).Bind(3, action).Bind(4, target);
  BindSealed(**st, 5, ring, detail, kAuditDetail, false);
  return (*st)->Run();
}

// Columns added after the first release, added to older journals when they open.
Status AddColumnIfMissing(Database& db, const char* table, const char* column, const char* definition) {
  auto info = db.Prepare(std::string("SELECT count(*) FROM pragma_table_info('") + table + "') WHERE name='" + column + "'");
  if (!info.ok()) return info.status();
  Status step;
  int64_t has = 0;
  if (info->Step(&step)) has = info->Int(0);
  CHUB_RETURN_IF_ERROR(step);
  if (has == 0) return db.Exec(std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " " + definition);
  return Status::Ok();
}

Status Migrate(Database& db) {
  CHUB_RETURN_IF_ERROR(AddColumnIfMissing(db, "dead_letters", "outbox_seq", "INTEGER NOT NULL DEFAULT 0"));
  return AddColumnIfMissing(db, "outbox", "delivered_at", "INTEGER NOT NULL DEFAULT 0");
}

// Steps "s" to the end, turning each row into a Row with "fill"; resets "s" either way.
template <typename Row, typename Fill>
Result<std::vector<Row>> Collect(Statement& s, Fill fill) {
  std::vector<Row> rows;
  Status step;
  while (s.Step(&step)) {
    Row r;
    fill(s, r);
    rows.push_back(std::move(r));
  }
  s.Reset();
  if (!step.ok()) return step;
  return rows;
}

Status ConfigureConnection(Database& db) {
  CHUB_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL"));
  CHUB_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys=OFF"));
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Journal

Result<std::unique_ptr<Journal>> Journal::Open(const JournalOptions& options) {
  auto db = Database::Open(options.path, 5000, options.vfs);
  if (!db.ok()) return db.status();
  Database& d = **db;
  Status st = ConfigureConnection(d);
  if (st.ok()) {
    // With synchronous_full the syncer thread fdatasyncs the WAL after each commit (see
    // SyncLoop), so SQLite itself need not sync on the writer's connection.
    st = d.Exec(options.synchronous_full ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=NORMAL");
  }
  // Checkpoints are the checkpointer thread's job, not the committing writer's.
  if (st.ok()) st = d.Exec("PRAGMA wal_autocheckpoint=0");
  if (st.ok()) st = RegisterSqlOpen(d, options.keyring.get());
  if (st.ok()) st = d.Exec(kSchema);
  if (st.ok()) st = Migrate(d);
  if (st.ok()) {
    auto ver = d.Prepare("SELECT value FROM meta WHERE key='schema_version'");
    if (!ver.ok()) return ver.status();
    Status step;
    if (ver->Step(&step)) {
      if (ver->Text(0) != std::to_string(kSchemaVersion)) {
        return Status(StatusCode::kCorruption,
                      options.path + ": journal schema version " + ver->Text(0) +
                          " is not the version " + std::to_string(kSchemaVersion) +
                          " this hub writes");
      }
    } else if (step.ok()) {
      st = d.Exec("INSERT INTO meta(key, value) VALUES('schema_version', '" +
                  std::to_string(kSchemaVersion) + "')");
    } else {
      st = step;
    }
  }
  if (!st.ok()) return st.Prepend("journal " + options.path + ": ");
  return std::unique_ptr<Journal>(new Journal(options, std::move(db).value()));
}

Journal::Journal(JournalOptions options, std::unique_ptr<Database> db)
    : options_(std::move(options)), db_(std::move(db)) {
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "chub-journal");
    WriterLoop();
  });
  if (options_.synchronous_full) {
    syncer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "chub-sync");
      SyncLoop();
    });
  }
  checkpointer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "chub-checkpoint");
    CheckpointLoop();
  });
}

Journal::~Journal() { Shutdown(); }

void Journal::Shutdown() {
  Close();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(sync_mu_);
    sync_stop_ = true;
    sync_cv_.notify_one();
  }
  if (syncer_.joinable()) syncer_.join();
  {
    std::lock_guard lock(ckpt_mu_);
    ckpt_stop_ = true;
    ckpt_cv_.notify_one();
  }
  if (checkpointer_.joinable()) checkpointer_.join();
}

void Journal::CheckpointLoop() {
  auto db = Database::Open(options_.path, 5000, options_.vfs);
  if (!db.ok()) {
    spdlog::error("journal: checkpointer cannot open {}: {}", options_.path, db.status().ToString());
    return;
  }
  // The checkpoint syncs the WAL before it copies pages back and the database before the WAL can
  // be reused, so nothing synced by SyncLoop is ever exposed to a lost write.
  if (Status st = (*db)->Exec("PRAGMA synchronous=FULL"); !st.ok()) {
    spdlog::error("journal: checkpointer: {}", st.ToString());
  }
  for (;;) {
    {
      std::unique_lock lock(ckpt_mu_);
      // Every 64 commits, or every second when anything was committed.
      ckpt_cv_.wait_for(lock, std::chrono::seconds(1),
                        [this] { return ckpt_stop_ || ckpt_pending_ >= 64; });
      if (ckpt_pending_ == 0 && !ckpt_stop_) continue;
      ckpt_pending_ = 0;
    }
    // PASSIVE: copies what no reader still needs, never waits for or blocks the writer.
    Status st = (*db)->Exec("PRAGMA wal_checkpoint(PASSIVE)");
    if (!st.ok()) spdlog::warn("journal: checkpoint failed: {}", st.ToString());
    std::lock_guard lock(ckpt_mu_);
    if (ckpt_stop_) return;
  }
}

void Journal::Close() {
  std::lock_guard lock(mu_);
  closing_ = true;
  cv_.notify_all();
}

void Journal::AddCommitListener(std::function<void()> listener) {
  listeners_.push_back(std::move(listener));
}

Status Journal::Enqueue(Op op, bool bounded) {
  std::lock_guard lock(mu_);
  if (closing_) return Status::Unavailable("journal is closing");
  if (bounded && queue_.size() >= options_.queue_limit) {
    return Status::Exhausted("journal queue is full (" + std::to_string(options_.queue_limit) +
                             " appends waiting)");
  }
  queue_.push_back(std::move(op));
  if (queue_.size() == 1) cv_.notify_one();
  return Status::Ok();
}

Status Journal::Append(InboxEntry entry, std::function<void(Result<AppendOutcome>)> done) {
  auto outcome = std::make_shared<AppendOutcome>(AppendOutcome::kAppended);
  auto e = std::make_shared<InboxEntry>(std::move(entry));
  // Sealed here, on the caller's thread: the writer thread, which every append waits for, only
  // writes.
  if (options_.keyring) e->body = options_.keyring->Seal(e->body, kInboxBody);
  Op op;
  op.run = [e, outcome](Database& db) -> Status {
    auto st = db.Cached(
        "INSERT OR IGNORE INTO inbox(source, event_id, received_at, content_type, topic, body)"
        " VALUES(?,?,?,?,?,?)");
    if (!st.ok()) return st.status();
    Statement& s = **st;
    s.Bind(1, e->source).Bind(2, e->event_id).Bind(3, e->received_at_ms);
    s.Bind(4, e->content_type).Bind(5, e->topic).BindBlob(6, e->body);
    CHUB_RETURN_IF_ERROR(s.Run());
    *outcome = db.Changes() == 0 ? AppendOutcome::kDuplicate : AppendOutcome::kAppended;
    return Status::Ok();
  };
  op.done = [outcome, done = std::move(done)](Status st) {
    if (st.ok()) {
      done(*outcome);
    } else {
      done(st);
    }
  };
  op.atomic = true;  // a single INSERT is atomic without a savepoint
  return Enqueue(std::move(op), /*bounded=*/true);
}

Status Journal::RunBlocking(std::function<Status(Database&)> run) {
  std::promise<Status> promise;
  auto fut = promise.get_future();
  Op op;
  op.run = std::move(run);
  op.done = [&promise](Status st) { promise.set_value(std::move(st)); };
  CHUB_RETURN_IF_ERROR(Enqueue(std::move(op), /*bounded=*/false));
  return fut.get();
}

Status Journal::CommitProcessed(std::vector<ProcessedEvent> events) {
  const seal::Keyring* ring = options_.keyring.get();
  return RunBlocking([&events, ring](Database& db) -> Status {
    auto cur = db.Cached(std::string("SELECT ") + kProcessedSeq);
    if (!cur.ok()) return cur.status();
    Status step;
    int64_t done_through = (*cur)->Step(&step) ? (*cur)->Int(0) : 0;
    (*cur)->Reset();
    CHUB_RETURN_IF_ERROR(step);
    int64_t last = done_through;
    for (const ProcessedEvent& ev : events) {
      // Already stored (a batch committed twice): storing it again would deliver it twice.
      if (ev.inbox_seq <= done_through) continue;
      last = std::max(last, ev.inbox_seq);
      std::string prev_id;
      int64_t event_row = 0;
      for (const OutboxEntry& o : ev.outbox) {
        if (event_row == 0 || o.event_id != prev_id) {  // one payload per CloudEvent
          auto ins = db.Cached(
              "INSERT INTO events(event_id, type, payload, created_at) VALUES(?,?,?,?)");
          if (!ins.ok()) return ins.status();
          Statement& s = **ins;
          s.Bind(1, o.event_id).Bind(2, o.type);
          BindSealed(s, 3, ring, o.payload, kEventPayload, true);
          s.Bind(4, o.created_at_ms);
          CHUB_RETURN_IF_ERROR(s.Run());
          event_row = db.LastInsertRowid();
          prev_id = o.event_id;
        }
        auto st = db.Cached("INSERT INTO outbox(destination, event, subject) VALUES(?,?,?)");
        if (!st.ok()) return st.status();
        CHUB_RETURN_IF_ERROR((*st)->Bind(1, o.destination).Bind(2, event_row).Bind(3, o.subject).Run());
      }
      if (ev.dead) CHUB_RETURN_IF_ERROR(InsertDeadLetter(db, *ev.dead, ring));
    }
    if (last == done_through) return Status::Ok();
    auto st = db.Cached(
        "INSERT INTO progress(name, seq) VALUES('processor', ?)"
        " ON CONFLICT(name) DO UPDATE SET seq=excluded.seq");
    if (!st.ok()) return st.status();
    return (*st)->Bind(1, last).Run();
  });
}

namespace {

// The WHERE clause and its bound values for a dead-letter filter.
struct FilterSql {
  std::string where = "1=1";
  std::vector<std::string> texts;
  std::optional<int64_t> id;
};

FilterSql ToSql(const DeadLetterFilter& f) {
  FilterSql q;
  if (f.id) {
    q.where += " AND id=?1";
    q.id = *f.id;
  }
  int n = 2;
  for (const auto& [column, value] : {std::pair<const char*, const std::string*>{"destination", &f.destination},
                                      {"source", &f.source}, {"stage", &f.stage}}) {
    if (value->empty()) continue;
    q.where += std::string(" AND ") + column + "=?" + std::to_string(n++);
    q.texts.push_back(*value);
  }
  return q;
}

Result<std::vector<DeadLetterRow>> SelectDeadLetters(Database& db, const DeadLetterFilter& f, const seal::Keyring* ring) {
  FilterSql q = ToSql(f);
  auto st = db.Prepare("SELECT id, stage, source, destination, event_id, reason, outbox_seq FROM dead_letters WHERE " +
                       q.where + " ORDER BY id");
  if (!st.ok()) return st.status();
  if (q.id) st->Bind(1, *q.id);
  for (std::size_t i = 0; i < q.texts.size(); ++i) st->Bind(static_cast<int>(i) + 2, q.texts[i]);
  auto rows = Collect<DeadLetterRow>(*st, [](Statement& s, DeadLetterRow& r) {
    r.id = s.Int(0);
    r.stage = s.Text(1);
    r.source = s.Text(2);
    r.destination = s.Text(3);
    r.event_id = s.Text(4);
    r.reason = s.Text(5);
    r.outbox_seq = s.Int(6);
  });
  if (!rows.ok()) return rows;
  for (DeadLetterRow& r : *rows) CHUB_RETURN_IF_ERROR(OpenField(ring, &r.reason, kDeadReason));
  return rows;
}

Status DeleteDeadLetter(Database& db, int64_t id) {
  auto st = db.Cached("DELETE FROM dead_letters WHERE id=?");
  if (!st.ok()) return st.status();
  return (*st)->Bind(1, id).Run();
}

std::string Target(const DeadLetterRow& d) {
  return "dead letter " + std::to_string(d.id) + " (" + d.stage + ", source " + d.source +
         (d.destination.empty() ? "" : ", destination " + d.destination) + ", event " + d.event_id + ")";
}

}  // namespace

Result<int64_t> Journal::ReplayDeadLetters(const DeadLetterFilter& filter, const std::string& actor) {
  if (filter.empty()) return Status::Invalid("name the dead letters to replay (an id, a destination, a source) or all");
  int64_t replayed = 0;
  const seal::Keyring* ring = options_.keyring.get();
  Status st = RunBlocking([&](Database& db) -> Status {
    auto rows = SelectDeadLetters(db, filter, ring);
    if (!rows.ok()) return rows.status();
    for (const DeadLetterRow& d : *rows) {
      std::string detail;
      if (d.stage == "delivery") {
        // Back to the outbox: the same event, the same idempotency key, attempts from zero.
        auto up = db.Cached(
            "UPDATE outbox SET state=0, attempts=0, next_attempt_at=0, last_error='' WHERE state=2 AND"
            " ((?1 > 0 AND seq=?1) OR (?1 = 0 AND destination=?2 AND event IN"
            "  (SELECT id FROM events WHERE event_id=?3)))");
        if (!up.ok()) return up.status();
        CHUB_RETURN_IF_ERROR((*up)->Bind(1, d.outbox_seq).Bind(2, d.destination).Bind(3, d.event_id).Run());
        if (db.Changes() == 0) {
          return Status::NotFound("dead letter " + std::to_string(d.id) + ": its outbox row is gone; nothing to replay");
        }
        detail = "redelivered to " + d.destination;
      } else {
        // Journaled again under a new id, so that the current mapping runs on it: the original
        // id with "~replay<dead letter id>" (a replay of a replay keeps one suffix, the newest).
        auto copy = db.Cached(
            "INSERT INTO inbox(source, event_id, received_at, content_type, topic, body)"
            " SELECT source, CASE WHEN instr(event_id, '~replay') > 0"
            "   THEN substr(event_id, 1, instr(event_id, '~replay') - 1) ELSE event_id END || '~replay' || ?1,"
            " ?2, content_type, topic, body FROM inbox"
            " WHERE source=?3 AND event_id=?4");
        if (!copy.ok()) return copy.status();
        CHUB_RETURN_IF_ERROR((*copy)->Bind(1, d.id).Bind(2, NowUnixMillis()).Bind(3, d.source).Bind(4, d.event_id).Run());
        if (db.Changes() == 0) {
          return Status::NotFound("dead letter " + std::to_string(d.id) + ": its inbox row is gone; nothing to replay");
        }
        detail = "journaled again as " + d.event_id.substr(0, d.event_id.find("~replay")) + "~replay" +
                 std::to_string(d.id);
      }
      CHUB_RETURN_IF_ERROR(DeleteDeadLetter(db, d.id));
      CHUB_RETURN_IF_ERROR(InsertAudit(db, actor, "dlq.replay", Target(d), detail + "; it failed with: " + d.reason, ring));
      ++replayed;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return replayed;  // the commit woke the listeners (processor, dispatcher): they look at once
}

Result<int64_t> Journal::DropDeadLetters(const DeadLetterFilter& filter, const std::string& actor,
                                         const std::string& reason) {
  if (filter.empty()) return Status::Invalid("name the dead letters to drop (an id, a destination, a source) or all");
  if (reason.empty()) return Status::Invalid("say why the dead letters are dropped (it goes to the audit log)");
  int64_t dropped = 0;
  const seal::Keyring* ring = options_.keyring.get();
  Status st = RunBlocking([&](Database& db) -> Status {
    auto rows = SelectDeadLetters(db, filter, ring);
    if (!rows.ok()) return rows.status();
    for (const DeadLetterRow& d : *rows) {
      CHUB_RETURN_IF_ERROR(DeleteDeadLetter(db, d.id));
      CHUB_RETURN_IF_ERROR(
          InsertAudit(db, actor, "dlq.drop", Target(d), reason + "; it had failed with: " + d.reason, ring));
      ++dropped;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return dropped;
}

Result<int64_t> Journal::ErasePayloads(const std::vector<std::string>& needles, const std::string& actor,
                                       const std::string& reason, const std::string& target) {
  for (const std::string& n : needles) {
    if (n.size() < 6) return Status::Invalid("an erasure needle must be at least 6 bytes long");
  }
  if (needles.empty()) return int64_t{0};
  int64_t erased = 0;
  const seal::Keyring* ring = options_.keyring.get();
  std::vector<std::string> lowered;
  for (const std::string& raw : needles) {
    std::string needle = raw;
    for (char& c : needle) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    lowered.push_back(std::move(needle));
  }
  Status st = RunBlocking([&](Database& db) -> Status {
    static constexpr std::string_view kErased = R"({"erased":true})";
    // Freed cell content is overwritten, not left readable in the file's pages.
    CHUB_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete=FAST"));
    // Each stored text is opened once and searched for every needle here: SQL cannot look into
    // sealed values. The matching rows are collected first and changed after the scan.
    auto matching = [&](const char* table, const char* id, const char* column, std::string_view aad,
                        std::vector<int64_t>* ids) -> Status {
      auto q = db.Prepare(std::string("SELECT ") + id + ", " + column + " FROM " + table +
                          " WHERE length(CAST(" + column + " AS BLOB)) >= 6");
      if (!q.ok()) return q.status();
      Status step;
      std::string text;
      while (q->Step(&step)) {
        text = q->Text(1);
        CHUB_RETURN_IF_ERROR(OpenField(ring, &text, aad));
        for (char& c : text) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        for (const std::string& n : lowered) {
          if (text.find(n) != std::string::npos) {
            ids->push_back(q->Int(0));
            break;
          }
        }
      }
      return step;
    };
    auto update = [&](const std::string& sql, const std::vector<int64_t>& ids, std::string_view value,
                      std::string_view aad, bool blob, int64_t* count) -> Status {
      auto q = db.Prepare(sql);
      if (!q.ok()) return q.status();
      for (int64_t row : ids) {
        BindSealed(*q, 1, ring, value, aad, blob);
        q->Bind(2, row);
        Status run = q->Run();
        q->Reset();
        CHUB_RETURN_IF_ERROR(run);
        if (count) *count += db.Changes();
      }
      return Status::Ok();
    };
    std::vector<int64_t> events;
    CHUB_RETURN_IF_ERROR(matching("events", "id", "payload", kEventPayload, &events));
    {
      // Undelivered copies of the person's events are not sent any more.
      auto drop = db.Prepare("UPDATE outbox SET state=1, last_error='erased on request' WHERE state=0 AND event=?1");
      if (!drop.ok()) return drop.status();
      for (int64_t e : events) {
        Status run = drop->Bind(1, e).Run();
        drop->Reset();
        CHUB_RETURN_IF_ERROR(run);
      }
    }
    CHUB_RETURN_IF_ERROR(update("UPDATE events SET payload=?1 WHERE id=?2", events, kErased, kEventPayload, true, &erased));
    std::vector<int64_t> ids;
    CHUB_RETURN_IF_ERROR(matching("inbox", "seq", "body", kInboxBody, &ids));
    CHUB_RETURN_IF_ERROR(update("UPDATE inbox SET body=?1 WHERE seq=?2", ids, kErased, kInboxBody, true, &erased));
    ids.clear();
    CHUB_RETURN_IF_ERROR(matching("dead_letters", "id", "payload", kDeadPayload, &ids));
    CHUB_RETURN_IF_ERROR(
        update("UPDATE dead_letters SET payload=?1 WHERE id=?2", ids, kErased, kDeadPayload, true, &erased));
    // Error texts may quote a value (a validation message): they go too.
    constexpr std::string_view kGone = "(erased on request)";
    ids.clear();
    CHUB_RETURN_IF_ERROR(matching("dead_letters", "id", "reason", kDeadReason, &ids));
    CHUB_RETURN_IF_ERROR(update("UPDATE dead_letters SET reason=?1 WHERE id=?2", ids, kGone, kDeadReason, false, nullptr));
    ids.clear();
    CHUB_RETURN_IF_ERROR(matching("outbox", "seq", "last_error", kOutboxError, &ids));
    CHUB_RETURN_IF_ERROR(update("UPDATE outbox SET last_error=?1 WHERE seq=?2", ids, kGone, kOutboxError, false, nullptr));
    ids.clear();
    CHUB_RETURN_IF_ERROR(matching("attempts", "rowid", "error", kAttemptError, &ids));
    CHUB_RETURN_IF_ERROR(update("UPDATE attempts SET error=?1 WHERE rowid=?2", ids, kGone, kAttemptError, false, nullptr));
    return InsertAudit(db, actor, "customers.erase", target,
                       std::to_string(erased) + " journal payload(s) erased; reason: " + reason, ring);
  });
  if (!st.ok()) return st;
  // The WAL still holds the pages as they were: copy them back and empty it, so that the old
  // payloads leave the files now, not at some later checkpoint.
  if (auto db = Database::Open(options_.path, 2000); db.ok()) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto q = (*db)->Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
      Status step;
      if (q.ok() && q->Step(&step) && q->Int(0) == 0) break;  // not busy: done
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return erased;
}

Result<int64_t> Journal::Resend(const std::string& destination, const ResendFilter& f, const std::string& actor) {
  if (destination.empty()) return Status::Invalid("name the destination to send the events to again");
  if (f.since_ms == 0 && f.until_ms == 0 && f.event_ids.empty() && f.type_prefix.empty() && f.source.empty()) {
    return Status::Invalid("name what to send again: a time range, event ids, a type or a source");
  }
  int64_t queued = 0;
  Status st = RunBlocking([&](Database& db) -> Status {
    std::string sql =
        "INSERT INTO outbox(destination, event, subject)"
        " SELECT ?1, id, COALESCE(json_extract(chub_open(payload, 'journal.events.payload'), '$.subject'), '')"
        " FROM events WHERE created_at >= ?2";
    if (f.until_ms > 0) sql += " AND created_at < ?3";
    if (!f.type_prefix.empty()) sql += " AND substr(type, 1, length(?4)) = ?4";
    if (!f.source.empty()) {
      sql += " AND json_extract(chub_open(payload, 'journal.events.payload'), '$.source') = '/connectors/' || ?5";
    }
    if (!f.event_ids.empty()) {
      sql += " AND event_id IN (";
      for (std::size_t i = 0; i < f.event_ids.size(); ++i) sql += (i ? ",?" : "?") + std::to_string(6 + i);
      sql += ")";
    }
    sql += " ORDER BY id";
    auto ins = db.Prepare(sql);
    if (!ins.ok()) return ins.status();
    ins->Bind(1, destination).Bind(2, f.since_ms);
    if (f.until_ms > 0) ins->Bind(3, f.until_ms);
    if (!f.type_prefix.empty()) ins->Bind(4, f.type_prefix);
    if (!f.source.empty()) ins->Bind(5, f.source);
    for (std::size_t i = 0; i < f.event_ids.size(); ++i) ins->Bind(static_cast<int>(6 + i), f.event_ids[i]);
    CHUB_RETURN_IF_ERROR(ins->Run());
    queued = db.Changes();
    std::string what;
    if (f.since_ms || f.until_ms) {
      what += "created " + FormatRfc3339(UtcTime(std::chrono::milliseconds(f.since_ms))) + " to " +
              (f.until_ms ? FormatRfc3339(UtcTime(std::chrono::milliseconds(f.until_ms))) : std::string("now"));
    }
    if (!f.event_ids.empty()) what += (what.empty() ? "" : ", ") + std::to_string(f.event_ids.size()) + " named event(s)";
    if (!f.type_prefix.empty()) what += (what.empty() ? "" : ", ") + std::string("types ") + f.type_prefix + "*";
    if (!f.source.empty()) what += (what.empty() ? "" : ", ") + std::string("source ") + f.source;
    return InsertAudit(db, actor, "resend", "destination " + destination,
                       std::to_string(queued) + " event(s) queued again: " + what, options_.keyring.get());
  });
  if (!st.ok()) return st;
  return queued;
}

Status Journal::SaveState(const std::string& name, const std::string& value, int64_t expires_at_ms) {
  return RunBlocking([&](Database& db) -> Status {
    auto st = db.Cached(
        "INSERT INTO connector_state(name, value, expires_at, updated_at) VALUES(?, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at,"
        " updated_at=excluded.updated_at");
    if (!st.ok()) return st.status();
    return (*st)->Bind(1, name).Bind(2, value).Bind(3, expires_at_ms).Bind(4, NowUnixMillis()).Run();
  });
}

Status Journal::RecordDeliveries(const std::string& destination,
                                 std::vector<DeliveryResult> results) {
  const seal::Keyring* ring = options_.keyring.get();
  return RunBlocking([&](Database& db) -> Status {
    for (const DeliveryResult& r : results) {
      if (r.outcome == DeliveryOutcome::kDelivered) {
        auto st = db.Cached(
            "UPDATE outbox SET state=1, attempts=attempts+1, last_error='', delivered_at=? WHERE seq=?");
        if (!st.ok()) return st.status();
        CHUB_RETURN_IF_ERROR((*st)->Bind(1, NowUnixMillis()).Bind(2, r.seq).Run());
      } else if (r.outcome == DeliveryOutcome::kRetry) {
        auto st = db.Cached(
            "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE seq=?");
        if (!st.ok()) return st.status();
        (*st)->Bind(1, r.next_attempt_at_ms);
        BindSealed(**st, 2, ring, r.error, kOutboxError, false);
        CHUB_RETURN_IF_ERROR((*st)->Bind(3, r.seq).Run());
        CHUB_RETURN_IF_ERROR(InsertAttempt(db, r.seq, NowUnixMillis(), r.error, ring));
      } else {
        CHUB_RETURN_IF_ERROR(InsertAttempt(db, r.seq, NowUnixMillis(), r.error, ring));
        auto st = db.Cached(
            "UPDATE outbox SET state=2, attempts=attempts+1, last_error=? WHERE seq=?"
            " RETURNING (SELECT event_id FROM events WHERE id=outbox.event),"
            "           (SELECT payload FROM events WHERE id=outbox.event)");
        if (!st.ok()) return st.status();
        Statement& s = **st;
        BindSealed(s, 1, ring, r.error, kOutboxError, false);
        s.Bind(2, r.seq);
        Status step;
        DeadLetter d;
        bool found = false;
        if (s.Step(&step)) {
          d.event_id = s.Text(0);
          d.payload = s.Text(1);
          found = true;
        }
        CHUB_RETURN_IF_ERROR(step);
        CHUB_RETURN_IF_ERROR(s.Run());
        if (found) CHUB_RETURN_IF_ERROR(OpenField(ring, &d.payload, kEventPayload));
        if (found) {
          d.stage = "delivery";
          d.outbox_seq = r.seq;
          // The CloudEvent names its source first ("source":"/connectors/<name>", before data).
          constexpr std::string_view kSource = "\"source\":\"/connectors/";
          if (auto at = d.payload.find(kSource); at != std::string::npos) {
            const std::size_t from = at + kSource.size();
            d.source = d.payload.substr(from, d.payload.find('"', from) - from);
          }
          d.destination = destination;
          d.reason = r.error;
          d.created_at_ms = r.next_attempt_at_ms;
          CHUB_RETURN_IF_ERROR(InsertDeadLetter(db, d, ring));
        }
      }
    }
    return Status::Ok();
  });
}

void Journal::WriterLoop() {
  std::vector<Op> batch;
  std::vector<Status> results;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty() && closing_) return;
      std::size_t n = std::min(queue_.size(), std::max<std::size_t>(options_.max_batch, 1));
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    results.assign(batch.size(), Status::Ok());
    Status tx = db_->Exec("BEGIN IMMEDIATE");
    if (tx.ok()) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        // Each operation under its own savepoint: one failing operation leaves the others'
        // effects in the shared transaction untouched.
        if (batch[i].atomic) {
          results[i] = batch[i].run(*db_);
          continue;
        }
        Status sp = db_->Exec("SAVEPOINT op");
        if (!sp.ok()) {
          results[i] = sp;
          continue;
        }
        results[i] = batch[i].run(*db_);
        if (!results[i].ok()) {
          (void)db_->Exec("ROLLBACK TO op");
        }
        (void)db_->Exec("RELEASE op");
      }
      tx = db_->Exec("COMMIT");
      if (!tx.ok()) (void)db_->Exec("ROLLBACK");
    }
    if (!tx.ok()) {
      tx.Prepend("journal commit failed: ");
      for (Status& r : results) r = tx;
    }
    if (options_.synchronous_full) {
      std::lock_guard lock(sync_mu_);
      sync_queue_.push_back(Committed{std::move(batch), std::move(results), tx.ok()});
      sync_cv_.notify_one();
      batch = {};
      results = {};
    } else {
      Complete(batch, results, tx.ok());
    }
  }
}

void Journal::Complete(std::vector<Op>& ops, std::vector<Status>& results, bool committed) {
  if (committed) {
    ++commits_;
    committed_ops_ += ops.size();
  }
  for (std::size_t i = 0; i < ops.size(); ++i) ops[i].done(results[i]);
  if (!committed) return;
  {
    std::lock_guard lock(ckpt_mu_);
    if (++ckpt_pending_ >= 64) ckpt_cv_.notify_one();
  }
  for (auto& l : listeners_) l();
}

void Journal::SyncLoop() {
  const std::string wal = options_.path + "-wal";
  int fd = -1;
  std::deque<Committed> work;
  for (;;) {
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return !sync_queue_.empty() || sync_stop_; });
      if (sync_queue_.empty()) break;  // stopping, and everything was completed
      work.swap(sync_queue_);
    }
    bool any = false;
    for (const auto& c : work) any = any || c.ok;
    Status synced;
    if (any) {
      // One fdatasync covers every batch committed so far: the WAL is written sequentially.
      if (fd < 0) fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
      const auto t0 = std::chrono::steady_clock::now();
      const bool failed = fd < 0 || ::fdatasync(fd) != 0;
      sync_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (failed) {
        synced = Status::IoError("syncing " + wal + " failed: " + std::strerror(errno));
        spdlog::error("journal: {}", synced.message());
        if (fd >= 0) ::close(fd);
        fd = -1;
      }
    }
    for (auto& c : work) {
      if (c.ok && !synced.ok()) {
        for (Status& r : c.results) r = synced;
      }
      Complete(c.ops, c.results, c.ok && synced.ok());
    }
    work.clear();
  }
  if (fd >= 0) ::close(fd);
}

Result<std::unique_ptr<JournalReader>> Journal::NewReader() {
  auto db = Database::Open(options_.path);
  if (!db.ok()) return db.status();
  CHUB_RETURN_IF_ERROR(ConfigureConnection(**db));
  return std::unique_ptr<JournalReader>(new JournalReader(std::move(db).value(), options_.keyring));
}

// ---------------------------------------------------------------------------------------------
// JournalReader

JournalReader::JournalReader(std::unique_ptr<Database> db, std::shared_ptr<const seal::Keyring> keyring)
    : db_(std::move(db)), keyring_(std::move(keyring)) {}
JournalReader::~JournalReader() = default;

Result<std::vector<InboxRow>> JournalReader::PendingInbox(int64_t after_seq, std::size_t limit) {
  auto st = db_->Cached(
      std::string("SELECT seq, source, event_id, received_at, content_type, topic, body FROM inbox"
                  " WHERE seq>max(?, ") + kProcessedSeq + ") ORDER BY seq LIMIT ?");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, after_seq).Bind(2, static_cast<int64_t>(limit));
  auto rows = Collect<InboxRow>(s, [](Statement& q, InboxRow& r) {
    r.seq = q.Int(0);
    r.source = q.Text(1);
    r.event_id = q.Text(2);
    r.received_at_ms = q.Int(3);
    r.content_type = q.Text(4);
    r.topic = q.Text(5);
    r.body = q.Text(6);
  });
  if (!rows.ok()) return rows;
  for (InboxRow& r : *rows) {
    if (Status st = OpenField(keyring_.get(), &r.body, kInboxBody); !st.ok()) {
      return st.Prepend("inbox row " + std::to_string(r.seq) + " (" + r.source + " " + r.event_id + "): ");
    }
  }
  return rows;
}

Result<std::vector<OutboxRow>> JournalReader::DueOutbox(const std::string& destination,
                                                        int64_t now_ms, std::size_t limit) {
  auto st = db_->Cached(
      "SELECT o.seq, e.event_id, o.subject, e.type, e.payload, e.created_at, o.attempts"
      " FROM outbox o JOIN events e ON e.id=o.event WHERE o.destination=?1 AND o.state=0 AND o.next_attempt_at<=?2"
      " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination=?1 AND p.subject=o.subject"
      "                 AND p.state=0 AND p.seq<o.seq)"
      " ORDER BY o.seq LIMIT ?3");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, destination).Bind(2, now_ms).Bind(3, static_cast<int64_t>(limit));
  auto rows = Collect<OutboxRow>(s, [&destination](Statement& q, OutboxRow& r) {
    r.destination = destination;
    r.seq = q.Int(0);
    r.event_id = q.Text(1);
    r.subject = q.Text(2);
    r.type = q.Text(3);
    r.payload = q.Text(4);
    r.created_at_ms = q.Int(5);
    r.attempts = static_cast<int>(q.Int(6));
  });
  if (!rows.ok()) return rows;
  for (OutboxRow& r : *rows) {
    if (Status st = OpenField(keyring_.get(), &r.payload, kEventPayload); !st.ok()) {
      return st.Prepend("event " + r.event_id + ": ");
    }
  }
  return rows;
}

Result<std::optional<int64_t>> JournalReader::NextAttemptAt(const std::string& destination) {
  // Only the oldest pending row of each subject can be due; later ones wait behind it.
  auto st = db_->Cached(
      "SELECT min(o.next_attempt_at) FROM outbox o WHERE o.destination=?1 AND o.state=0"
      " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination=?1 AND p.subject=o.subject"
      "                 AND p.state=0 AND p.seq<o.seq)");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, destination);
  Status step;
  std::optional<int64_t> out;
  if (s.Step(&step) && !s.TextView(0).empty()) out = s.Int(0);
  s.Reset();
  if (!step.ok()) return step;
  return out;
}

Result<JournalStats> JournalReader::Stats() {
  auto st = db_->Cached(
      std::string("SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM inbox WHERE seq>") +
      kProcessedSeq + "),"
      " (SELECT count(*) FROM outbox WHERE state=0), (SELECT count(*) FROM outbox WHERE state=1),"
      " (SELECT count(*) FROM dead_letters)");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  Status step;
  JournalStats out;
  if (s.Step(&step)) {
    out.inbox_total = s.Int(0);
    out.inbox_pending = s.Int(1);
    out.outbox_pending = s.Int(2);
    out.outbox_delivered = s.Int(3);
    out.dead_letters = s.Int(4);
  }
  s.Reset();
  if (!step.ok()) return step;
  return out;
}

Result<std::vector<JournalReader::Backlog>> JournalReader::Backlogs() {
  auto st = db_->Cached(
      "SELECT o.destination, count(*), min(e.created_at) FROM outbox o JOIN events e ON e.id=o.event WHERE o.state=0 "
      "GROUP BY o.destination");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  Status step;
  std::vector<Backlog> out;
  while (s.Step(&step)) out.push_back({s.Text(0), s.Int(1), s.Int(2)});
  s.Reset();
  if (!step.ok()) return step;
  return out;
}

std::string Journal::SyncMetricsText() const {
  return metrics::Header("channelhub_journal_sync_seconds",
                         "Time of one fdatasync of the journal's write-ahead log (each covers a group of commits).",
                         "histogram") +
         sync_seconds_.Render("channelhub_journal_sync_seconds", "");
}

Result<std::optional<ConnectorState>> JournalReader::LoadState(const std::string& name) {
  auto st = db_->Cached("SELECT value, expires_at FROM connector_state WHERE name=?");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, name);
  Status step;
  std::optional<ConnectorState> out;
  if (s.Step(&step)) out = ConnectorState{s.Text(0), s.Int(1)};
  s.Reset();
  if (!step.ok()) return step;
  return out;
}

Result<std::optional<DeadLetterDetail>> JournalReader::DeadLetter(int64_t id) {
  auto st = db_->Cached(
      "SELECT id, stage, source, destination, event_id, reason, payload, created_at, outbox_seq"
      " FROM dead_letters WHERE id=?");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, id);
  auto rows = Collect<DeadLetterRow>(s, [](Statement& q, DeadLetterRow& r) {
    r.id = q.Int(0);
    r.stage = q.Text(1);
    r.source = q.Text(2);
    r.destination = q.Text(3);
    r.event_id = q.Text(4);
    r.reason = q.Text(5);
    r.payload = q.Text(6);
    r.created_at_ms = q.Int(7);
    r.outbox_seq = q.Int(8);
  });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<DeadLetterDetail>();
  DeadLetterDetail out;
  out.letter = std::move(rows->front());
  CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &out.letter.reason, kDeadReason));
  CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &out.letter.payload, kDeadPayload));
  if (out.letter.outbox_seq > 0) {
    auto at = db_->Cached("SELECT at, error FROM attempts WHERE outbox_seq=? ORDER BY rowid");
    if (!at.ok()) return at.status();
    (*at)->Bind(1, out.letter.outbox_seq);
    auto attempts = Collect<AttemptRow>(**at, [](Statement& q, AttemptRow& a) {
      a.at_ms = q.Int(0);
      a.error = q.Text(1);
    });
    if (!attempts.ok()) return attempts.status();
    out.attempts = std::move(attempts).value();
    for (AttemptRow& a : out.attempts) CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &a.error, kAttemptError));
  }
  return std::optional<DeadLetterDetail>(std::move(out));
}

Result<std::vector<TraceRow>> JournalReader::Recent(std::size_t limit) {
  auto st = db_->Cached(
      std::string("SELECT source, event_id, topic, received_at, seq <= ") + kProcessedSeq +
      " FROM (SELECT * FROM inbox ORDER BY seq DESC LIMIT ?) ORDER BY seq");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, static_cast<int64_t>(limit));
  return Collect<TraceRow>(**st, [](Statement& q, TraceRow& t) {
    t.source = q.Text(0);
    t.event_id = q.Text(1);
    t.kind = q.Text(2);
    t.received_at_ms = q.Int(3);
    t.processed = q.Int(4) != 0;
  });
}

Result<std::optional<TraceRow>> JournalReader::Trace(const std::string& source, const std::string& event_id) {
  auto in = db_->Cached(std::string("SELECT source, event_id, topic, received_at, seq <= ") + kProcessedSeq +
                        " FROM inbox WHERE source=? AND event_id=?");
  if (!in.ok()) return in.status();
  (*in)->Bind(1, source).Bind(2, event_id);
  auto rows = Collect<TraceRow>(**in, [](Statement& q, TraceRow& t) {
    t.source = q.Text(0);
    t.event_id = q.Text(1);
    t.kind = q.Text(2);
    t.received_at_ms = q.Int(3);
    t.processed = q.Int(4) != 0;
  });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<TraceRow>();
  TraceRow t = std::move(rows->front());
  // Its canonical events are "<event_id>:<n>"; each with its deliveries.
  auto ev = db_->Cached(
      "SELECT e.event_id, e.type, e.created_at, o.destination, o.state, o.attempts, o.last_error, o.delivered_at,"
      " o.next_attempt_at, o.subject FROM events e LEFT JOIN outbox o ON o.event = e.id"
      " WHERE e.event_id >= ? AND e.event_id < ? ORDER BY e.id, o.seq");
  if (!ev.ok()) return ev.status();
  (*ev)->Bind(1, event_id + ":").Bind(2, event_id + ";");  // ';' follows ':' in ASCII
  auto deliveries = Collect<TraceRow::Delivery>(**ev, [](Statement& q, TraceRow::Delivery& d) {
    d.cloud_event_id = q.Text(0);
    d.type = q.Text(1);
    d.mapped_at_ms = q.Int(2);
    d.destination = q.Text(3);
    d.state = static_cast<int>(q.Int(4));
    d.attempts = q.Int(5);
    d.last_error = q.Text(6);
    d.delivered_at_ms = q.Int(7);
    d.next_attempt_at_ms = q.Int(8);
    d.subject = q.Text(9);
  });
  if (!deliveries.ok()) return deliveries.status();
  t.deliveries = std::move(deliveries).value();
  for (TraceRow::Delivery& d : t.deliveries) CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &d.last_error, kOutboxError));
  auto dead = db_->Cached("SELECT stage, destination, reason FROM dead_letters WHERE source=? AND (event_id=? OR "
                          "(event_id >= ? AND event_id < ?)) ORDER BY id");
  if (!dead.ok()) return dead.status();
  (*dead)->Bind(1, source).Bind(2, event_id).Bind(3, event_id + ":").Bind(4, event_id + ";");
  Status step;
  while ((*dead)->Step(&step)) {
    std::string reason = (*dead)->Text(2);
    if (Status open = OpenField(keyring_.get(), &reason, kDeadReason); !open.ok()) {
      (*dead)->Reset();
      return open;
    }
    t.dead_letters.push_back((*dead)->Text(0) + (((*dead)->Text(1)).empty() ? "" : " to " + (*dead)->Text(1)) + ": " +
                             reason);
  }
  (*dead)->Reset();
  if (!step.ok()) return step;
  // A mapping dead letter replayed is journaled again as "<id>~replay<n>" (see
  // ReplayDeadLetters): name those, so that the trace of the original leads on.
  const std::string base = event_id.substr(0, event_id.find("~replay"));
  auto replays = db_->Cached("SELECT event_id FROM inbox WHERE source=? AND event_id >= ? AND event_id < ? AND "
                             "event_id <> ? ORDER BY seq");
  if (!replays.ok()) return replays.status();
  (*replays)->Bind(1, source).Bind(2, base + "~replay").Bind(3, base + "~replaz").Bind(4, event_id);
  auto ids = Collect<std::string>(**replays, [](Statement& q, std::string& id) { id = q.Text(0); });
  if (!ids.ok()) return ids.status();
  t.replays = std::move(ids).value();
  return std::optional<TraceRow>(std::move(t));
}

Result<std::vector<AuditRow>> JournalReader::Audit(std::size_t limit) {
  auto st = db_->Cached(
      "SELECT id, at, actor, action, target, detail FROM"
      " (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, static_cast<int64_t>(limit));
  auto rows = Collect<AuditRow>(**st, [](Statement& q, AuditRow& a) {
    a.id = q.Int(0);
    a.at_ms = q.Int(1);
    a.actor = q.Text(2);
    a.action = q.Text(3);
    a.target = q.Text(4);
    a.detail = q.Text(5);
  });
  if (!rows.ok()) return rows;
  for (AuditRow& a : *rows) CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &a.detail, kAuditDetail));
  return rows;
}

Result<std::vector<DeadLetterRow>> JournalReader::DeadLetters(std::size_t limit) {
  auto st = db_->Cached(
      "SELECT id, stage, source, destination, event_id, reason, payload, created_at"
      " FROM dead_letters ORDER BY id LIMIT ?");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  s.Bind(1, static_cast<int64_t>(limit));
  auto rows = Collect<DeadLetterRow>(s, [](Statement& q, DeadLetterRow& r) {
    r.id = q.Int(0);
    r.stage = q.Text(1);
    r.source = q.Text(2);
    r.destination = q.Text(3);
    r.event_id = q.Text(4);
    r.reason = q.Text(5);
    r.payload = q.Text(6);
    r.created_at_ms = q.Int(7);
  });
  if (!rows.ok()) return rows;
  for (DeadLetterRow& r : *rows) {
    CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &r.reason, kDeadReason));
    CHUB_RETURN_IF_ERROR(OpenField(keyring_.get(), &r.payload, kDeadPayload));
  }
  return rows;
}

}  // namespace channelhub::journal

namespace channelhub::journal {

Result<int64_t> RekeyJournal(const std::string& path, const seal::Keyring& keyring,
                             std::map<std::string, int64_t>* by_key) {
  auto opened = Database::Open(path, 30000);
  if (!opened.ok()) return opened.status();
  Database& db = **opened;
  CHUB_RETURN_IF_ERROR(ConfigureConnection(db));
  // What a rewritten cell held (clear data, or a retired key's ciphertext) is overwritten.
  CHUB_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete=ON"));
  struct Column {
    const char* table;
    const char* id;
    const char* column;
    std::string_view aad;
  };
  const Column columns[] = {{"inbox", "seq", "body", kInboxBody},
                            {"events", "id", "payload", kEventPayload},
                            {"dead_letters", "id", "payload", kDeadPayload},
                            {"dead_letters", "id", "reason", kDeadReason},
                            {"outbox", "seq", "last_error", kOutboxError},
                            {"attempts", "rowid", "error", kAttemptError},
                            {"audit", "id", "detail", kAuditDetail}};
  constexpr int64_t kBatch = 256;
  int64_t rewritten = 0;
  for (const Column& c : columns) {
    const std::string select = std::string("SELECT ") + c.id + ", " + c.column + " FROM " + c.table + " WHERE " +
                               c.id + " > ?1 ORDER BY " + c.id + " LIMIT " + std::to_string(kBatch);
    const std::string update = std::string("UPDATE ") + c.table + " SET " + c.column + "=?1 WHERE " + c.id + "=?2";
    int64_t after = INT64_MIN;
    for (;;) {
      // One short transaction per batch: a running hub's writer waits a moment at most.
      CHUB_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
      int64_t rows = 0;
      std::vector<std::pair<int64_t, std::string>> out;
      Status st = [&]() -> Status {
        auto q = db.Prepare(select);
        if (!q.ok()) return q.status();
        q->Bind(1, after);
        Status step;
        while (q->Step(&step)) {
          ++rows;
          after = q->Int(0);
          std::string value = q->Text(1);
          if (seal::IsSealed(value)) {
            const seal::KeyId id = seal::SealedKeyId(value);
            if (by_key) ++(*by_key)[seal::KeyIdText(id)];
            if (id == keyring.current_id()) continue;
          } else {
            if (value.empty()) continue;  // nothing to hide ("" = no error)
            if (by_key) ++(*by_key)["plaintext"];
          }
          if (Status open = OpenField(&keyring, &value, c.aad); !open.ok()) {
            return open.Prepend(std::string(c.table) + " row " + std::to_string(after) + ": ");
          }
          out.emplace_back(after, keyring.Seal(value, c.aad));
        }
        CHUB_RETURN_IF_ERROR(step);
        auto u = db.Prepare(update);
        if (!u.ok()) return u.status();
        for (const auto& [row, sealed] : out) {
          Status run = u->BindBlob(1, sealed).Bind(2, row).Run();
          u->Reset();
          CHUB_RETURN_IF_ERROR(run);
          ++rewritten;
        }
        return Status::Ok();
      }();
      if (st.ok()) st = db.Exec("COMMIT");
      if (!st.ok()) {
        (void)db.Exec("ROLLBACK");
        return st.Prepend("journal " + path + ": ");
      }
      if (rows < kBatch) break;
    }
  }
  // The WAL's copies of the old pages go too (when no reader holds them).
  (void)db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return rewritten;
}

}  // namespace channelhub::journal
