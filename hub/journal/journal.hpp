// The journal: the hub's durable memory. One SQLite file (WAL) holds the inbox (every accepted
// inbound event, deduplicated by source and event id), the outbox (one row per canonical event
// and destination) and the dead letters.
//
// Writes go through one writer thread that groups concurrent requests: all operations waiting
// when the writer wakes share one transaction and one sync (group commit), and each caller's
// callback runs only after that transaction is durable. Reads use JournalReader, one connection
// per reading thread (WAL lets readers run beside the writer).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hub/common/metrics.hpp"
#include "hub/common/status.hpp"

namespace channelhub::seal {
class Keyring;
}

namespace channelhub::journal {

class Database;

struct InboxEntry {
  std::string source;        // configured source name
  std::string event_id;      // unique per source: the platform's id or a content hash
  std::string content_type;  // as received
  std::string topic;         // the platform's topic header when known, else ""
  std::string body;          // raw bytes
  int64_t received_at_ms = 0;  // UTC, milliseconds since the epoch
};

struct InboxRow : InboxEntry {
  int64_t seq = 0;
};

enum class AppendOutcome { kAppended, kDuplicate };

struct OutboxEntry {
  std::string destination;
  std::string event_id;  // the CloudEvent id: the idempotency key the destination sees
  std::string subject;   // entity key; delivery is in order per (destination, subject)
  std::string type;
  std::string payload;   // the CloudEvent JSON
  int64_t created_at_ms = 0;
};

struct OutboxRow : OutboxEntry {
  int64_t seq = 0;
  int attempts = 0;
};

struct DeadLetter {
  std::string stage;        // "mapping", "routing" or "delivery"
  std::string source;
  std::string destination;  // "" before routing
  std::string event_id;
  std::string reason;       // what failed, naming the rule or the answer
  std::string payload;
  int64_t created_at_ms = 0;
  int64_t outbox_seq = 0;   // "delivery": the outbox row that gave up
};

struct DeadLetterRow : DeadLetter {
  int64_t id = 0;
};

// One failed delivery attempt of an outbox row.
struct AttemptRow {
  int64_t at_ms = 0;
  std::string error;
};

// A dead letter with the history of its delivery attempts.
struct DeadLetterDetail {
  DeadLetterRow letter;
  std::vector<AttemptRow> attempts;  // oldest first ("delivery" only)
};

// Which dead letters an operation applies to: one id, or all that match the set fields.
struct DeadLetterFilter {
  std::optional<int64_t> id;
  std::string destination;  // "" = any
  std::string source;       // "" = any
  std::string stage;        // "" = any
  bool all = false;         // REQUIRED when no other field is set: an explicit "every one"

  bool empty() const { return !id && destination.empty() && source.empty() && stage.empty() && !all; }
};

// One inbound event's way through the hub: received, mapped into canonical events, and each
// of those delivered (or not) to each destination.
struct TraceRow {
  std::string source;
  std::string event_id;
  std::string kind;
  int64_t received_at_ms = 0;
  bool processed = false;  // mapped and routed (or dead-lettered)
  struct Delivery {
    std::string cloud_event_id;
    std::string type;
    int64_t mapped_at_ms = 0;
    std::string destination;  // "" when the event was routed nowhere
    int state = 0;            // 0 pending, 1 delivered, 2 dead letter
    int64_t attempts = 0;
    std::string last_error;
    int64_t delivered_at_ms = 0;
    int64_t next_attempt_at_ms = 0;
    std::string subject;  // the entity key ("customer/<system>/<id>")
  };
  std::vector<Delivery> deliveries;
  std::vector<std::string> dead_letters;  // "stage[ to destination]: reason"
  std::vector<std::string> replays;       // event ids its mapping dead letters were replayed as
};

struct AuditRow {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string actor;
  std::string action;
  std::string target;
  std::string detail;
};

// The result of mapping and routing one inbox row: its outbox rows, or its dead letter.
struct ProcessedEvent {
  int64_t inbox_seq = 0;
  std::vector<OutboxEntry> outbox;
  std::optional<DeadLetter> dead;
  // Every canonical event made (type, CloudEvent JSON), routed or not: for the event bus, once
  // committed. Not stored.
  std::vector<std::pair<std::string, std::string>> published;
};

enum class DeliveryOutcome { kDelivered, kRetry, kDead };

struct DeliveryResult {
  int64_t seq = 0;
  DeliveryOutcome outcome = DeliveryOutcome::kDelivered;
  int64_t next_attempt_at_ms = 0;  // kRetry
  std::string error;               // kRetry, kDead: what the destination answered
};

struct JournalOptions {
  std::string path;                 // the SQLite file; its directory must exist
  std::size_t max_batch = 512;      // operations per group transaction at most
  std::size_t queue_limit = 10000;  // operations waiting at most; beyond: ResourceExhausted
  bool synchronous_full = true;     // fsync at every commit (else at WAL checkpoints only)
  std::string vfs;                  // SQLite VFS for the writer ("" = default; tests inject faults)
  // Encryption at rest (hub/common/seal.hpp): with a keyring, every payload and error text is
  // stored sealed (inbox bodies, CloudEvents, dead letters and their reasons, delivery errors,
  // audit details) and opened when read; rows written without one still read. Null: stored as
  // given, and a sealed row is an error naming its key id.
  std::shared_ptr<const seal::Keyring> keyring;
};

// `channelhub rekey`: seals every stored payload of the journal at "path" again with the
// keyring's current key (plaintext rows too), in transactions of a few hundred rows so that a
// running hub is held up only briefly. Returns the rows rewritten; "*by_key" (when given) counts
// the rows found per key id before ("plaintext" for unsealed ones). Fails, changing nothing more,
// at the first row no key of the keyring opens.
Result<int64_t> RekeyJournal(const std::string& path, const seal::Keyring& keyring,
                             std::map<std::string, int64_t>* by_key);

// Per-destination and overall counts, for readiness, metrics and tests.
struct JournalStats {
  int64_t inbox_total = 0;
  int64_t inbox_pending = 0;
  int64_t outbox_pending = 0;
  int64_t outbox_delivered = 0;
  int64_t dead_letters = 0;
};

// What a connector keeps between runs: a poll cursor or an access token.
struct ConnectorState {
  std::string value;
  int64_t expires_at_ms = 0;  // 0 = does not expire
};

// A JournalReader reads with its own connection. Not thread-safe: one per thread.
class JournalReader {
 public:
  ~JournalReader();
  // Inbox rows not yet processed with seq > after_seq, oldest first.
  Result<std::vector<InboxRow>> PendingInbox(int64_t after_seq, std::size_t limit);
  // Outbox rows of "destination" due at now_ms, oldest first, each the oldest pending row of its
  // subject (so that a subject's later events wait for its earlier ones).
  Result<std::vector<OutboxRow>> DueOutbox(const std::string& destination, int64_t now_ms,
                                           std::size_t limit);
  // The earliest next_attempt_at_ms of the destination's pending rows, if any.
  Result<std::optional<int64_t>> NextAttemptAt(const std::string& destination);
  Result<JournalStats> Stats();
  // Per destination: undelivered events and the creation time of the oldest (for queue depth and
  // age in /metrics).
  struct Backlog {
    std::string destination;
    int64_t pending = 0;
    int64_t oldest_created_ms = 0;
  };
  Result<std::vector<Backlog>> Backlogs();
  Result<std::vector<DeadLetterRow>> DeadLetters(std::size_t limit);
  // One dead letter with its attempts, or nullopt.
  Result<std::optional<DeadLetterDetail>> DeadLetter(int64_t id);
  // The last "limit" inbound events, oldest first (no deliveries filled in).
  Result<std::vector<TraceRow>> Recent(std::size_t limit);
  // One inbound event with its canonical events and their deliveries, or nullopt.
  Result<std::optional<TraceRow>> Trace(const std::string& source, const std::string& event_id);
  // The audit log, newest last.
  Result<std::vector<AuditRow>> Audit(std::size_t limit);
  // A connector's saved state ("poll:<source>", "token:<name>"), if any.
  Result<std::optional<ConnectorState>> LoadState(const std::string& name);

 private:
  friend class Journal;
  JournalReader(std::unique_ptr<Database> db, std::shared_ptr<const seal::Keyring> keyring);
  std::unique_ptr<Database> db_;
  std::shared_ptr<const seal::Keyring> keyring_;
};

class Journal {
 public:
  // Opens or creates the journal and starts its writer thread.
  static Result<std::unique_ptr<Journal>> Open(const JournalOptions& options);
  // Runs every queued operation, then stops the writer.
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends "entry" to the inbox unless (source, event_id) is already there. "done" runs on the
  // writer thread once the outcome is durable, or with the error; it must be quick (post work
  // elsewhere). Returns ResourceExhausted, without queuing and without calling "done", when
  // queue_limit operations are waiting; Unavailable once closing.
  Status Append(InboxEntry entry, std::function<void(Result<AppendOutcome>)> done);

  // Stores the outbox rows and dead letters of processed inbox rows and marks them processed,
  // all in one transaction. Blocks the calling thread until durable. Never call it from an I/O
  // thread.
  Status CommitProcessed(std::vector<ProcessedEvent> events);

  // Records delivery attempts of one destination's rows (delivered, retry later, dead). Blocks
  // until durable.
  Status RecordDeliveries(const std::string& destination, std::vector<DeliveryResult> results);

  // Replays the dead letters that match "filter": a delivery dead letter goes back to its
  // destination's outbox (attempts reset; sent with the destination's current outbound mapping);
  // a mapping or routing dead letter is journaled again as a new inbox row of its source (so the
  // current mapping runs on it). Each one leaves the dead letters and is written to the audit
  // log with "actor". Returns how many were replayed. Blocks until durable.
  Result<int64_t> ReplayDeadLetters(const DeadLetterFilter& filter, const std::string& actor);
  // Removes the dead letters that match "filter" for good, each with an audit entry naming
  // "actor" and "reason". Returns how many.
  Result<int64_t> DropDeadLetters(const DeadLetterFilter& filter, const std::string& actor,
                                  const std::string& reason);

  // A deletion request (PIPL): every stored payload that contains one of "needles" (a person's
  // mobile numbers in their usual spellings, e-mail addresses, WeCom ids; compared without
  // regard to ASCII case) — inbox bodies, canonical events, dead letters — is replaced by
  // {"erased": true}, and the deliveries of those events not yet made are dropped. One audit
  // entry names "actor", the count and "reason", never the needles. Returns how many payloads
  // were erased. Needles shorter than 6 bytes are refused (they would match anyone).
  Result<int64_t> ErasePayloads(const std::vector<std::string>& needles, const std::string& actor,
                                const std::string& reason, const std::string& target);

  // Re-sync: queues the events that match "filter" for "destination" again, whether it had them
  // before or not (a newly connected system, an ERP restored from a backup). Each goes out with
  // its own id as Idempotency-Key, in order per subject, and touches no other destination.
  // Audited with "actor". Returns how many were queued.
  struct ResendFilter {
    int64_t since_ms = 0;                 // events created at or after (0: from the start)
    int64_t until_ms = 0;                 // and before (0: until now)
    std::vector<std::string> event_ids;   // or exactly these CloudEvent ids
    std::string type_prefix;              // "com.channelhub.order." ("" = every type)
    std::string source;                   // only events of this source ("" = any)
  };
  Result<int64_t> Resend(const std::string& destination, const ResendFilter& filter, const std::string& actor);

  // Saves a connector's state (a poll cursor, a token) durably. Blocks until durable.
  Status SaveState(const std::string& name, const std::string& value, int64_t expires_at_ms);

  // "listener" runs on the writer thread after every commit that changed the inbox or the
  // outbox. REQUIRES: called before the journal is used from other threads.
  void AddCommitListener(std::function<void()> listener);

  Result<std::unique_ptr<JournalReader>> NewReader();

  // Stops taking new operations (they get Unavailable); queued ones still run.
  void Close();
  // Close(), then waits until the writer has run every queued operation and its listeners, and
  // the checkpointer has stopped. After it returns no listener runs again.
  void Shutdown();

  const JournalOptions& options() const { return options_; }

  // Transactions committed and operations they carried, since open: their ratio is the group
  // commit's batching.
  uint64_t commits() const { return commits_; }
  // How long each fdatasync of the WAL took (journal.sync: full), in the Prometheus format.
  std::string SyncMetricsText() const;
  uint64_t committed_ops() const { return committed_ops_; }

 private:
  struct Op {
    std::function<Status(Database&)> run;
    std::function<void(Status)> done;
    bool atomic = false;  // one statement: needs no savepoint of its own
  };

  explicit Journal(JournalOptions options, std::unique_ptr<Database> db);
  Status Enqueue(Op op, bool bounded);
  Status RunBlocking(std::function<Status(Database&)> run);
  void WriterLoop();
  void SyncLoop();
  void CheckpointLoop();
  // Runs the callbacks of a committed (or failed) batch, then the listeners.
  void Complete(std::vector<Op>& ops, std::vector<Status>& results, bool committed);

  JournalOptions options_;
  std::unique_ptr<Database> db_;  // the writer's connection; used only on the writer thread
  std::vector<std::function<void()>> listeners_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;  // GUARDED_BY(mu_)
  bool closing_ = false;  // GUARDED_BY(mu_)
  // With synchronous_full, the writer commits without syncing and hands each batch to the syncer,
  // which fdatasyncs the WAL and only then runs the batch's callbacks: the next batch is written
  // while the previous one is being synced (a pipelined group commit).
  struct Committed {
    std::vector<Op> ops;
    std::vector<Status> results;
    bool ok = false;
  };
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Committed> sync_queue_;  // GUARDED_BY(sync_mu_)
  bool sync_stop_ = false;            // GUARDED_BY(sync_mu_)
  std::thread syncer_;

  std::atomic<uint64_t> commits_{0};
  metrics::Histogram sync_seconds_;
  std::atomic<uint64_t> committed_ops_{0};
  std::thread writer_;

  // WAL checkpoints run on their own thread and connection, so that copying pages back into the
  // database and its fsync never stall a commit (and with it every webhook waiting on it).
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;     // GUARDED_BY(ckpt_mu_)
  uint64_t ckpt_pending_ = 0;  // GUARDED_BY(ckpt_mu_): commits since the last checkpoint
  std::thread checkpointer_;
};

}  // namespace channelhub::journal
