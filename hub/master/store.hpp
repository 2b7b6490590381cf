// The master customer record (hub/master): one golden record per real customer, built as events
// arrive, kept in its own SQLite file.
//
// Every customer event from a source system is a *source record* (system, id). Each source
// record belongs to exactly one golden record. When a record arrives it is normalised and matched
// (matcher.hpp) against every stored source record that shares a blocking key:
//   - it joins the golden records of all records it matches (kMatch), and those golden records
//     are merged into the oldest of them: a golden record is a connected component of the match
//     graph, so the result does not depend on the order the records arrive in;
//   - otherwise it starts a golden record of its own, and when some record scored between the
//     review and the match threshold, a review item asks an operator to decide;
//   - an updated record stays in its golden record (new matches may still merge others into it).
// Operators can merge two golden records, unmerge (split one source record out into a golden
// record of its own, which is then kept apart from the rest: a separation), and accept or reject
// review items (a rejection is a separation too). Separations stop automatic merges.
//
// A golden record's attributes are chosen from its source records by survivorship rules, per
// attribute (SurvivorshipRules); each remembers which system, record and event gave it. Every
// change of a golden record (its attributes, its links, a merge) is a new version with its cause,
// and an *emission*: the golden record as a canonical customer event (customer.golden.updated),
// stored in the same transaction and handed to the journal by the hub (PendingEmissions /
// MarkEmitted), so that a crash in between sends it later instead of losing it. A golden id that
// was merged away stays resolvable: it names the record it was merged into.
//
// Orders routed here are kept in a small summary table and counted in the 360° view of the
// customer they belong to (the buyer's source record, the dealer id, or a guest's mobile).
//
// Thread safety: every method may be called from any thread; they run one at a time. Several
// processes may open the same file (the CLI beside a running hub): writes wait for each other.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/common/seal.hpp"
#include "hub/common/status.hpp"
#include "hub/master/matcher.hpp"

namespace channelhub::master {

enum class SurvivorshipRule { kSourcePriority, kMostRecent, kMostFrequent, kNonEmpty, kUnion };
std::optional<SurvivorshipRule> ParseSurvivorshipRule(std::string_view name);
std::string_view SurvivorshipRuleName(SurvivorshipRule rule);

struct AttributeSurvivorship {
  SurvivorshipRule rule = SurvivorshipRule::kMostRecent;
  std::vector<std::string> sources;  // kSourcePriority: systems, most trusted first
};

// How golden attributes are chosen. Attributes: kind, name, mobiles, emails, wecom, credit_code,
// addresses, region, tier, credit, tags. Without a rule of its own, a list attribute (mobiles,
// emails, addresses, tags) is the union of every record's values, "kind" is the most specific
// kind any record gives (dealer, then company, then person), and every other attribute follows
// "default_rule".
struct SurvivorshipRules {
  SurvivorshipRule default_rule = SurvivorshipRule::kMostRecent;
  std::map<std::string, AttributeSurvivorship> by_attribute;
};

struct MasterOptions {
  std::string path;  // the SQLite file; its directory is created when missing
  MatchConfig match;
  SurvivorshipRules survivorship;
  std::string wecom_corp;
  bool synchronous_full = true;  // fsync every commit
  // Encryption at rest (hub/common/seal.hpp). With a keyring: source records and golden-record
  // versions are stored sealed, and the search keys (mobiles, e-mails, names, credit codes, WeCom
  // ids) and orders' buyer mobiles as keyed hashes (a blind index: equality lookups only, so a
  // name search matches the whole normalised name, not a prefix). The hash key is random, kept in
  // the file sealed with the data key, and survives key rotation. Null: stored in clear; a store
  // that was encrypted does not open.
  std::shared_ptr<const seal::Keyring> keyring;
};

// What MasterStore::Rekey did.
struct MasterRekeyStats {
  int64_t rewritten = 0;                 // values sealed again with the current key
  std::map<std::string, int64_t> found;  // values found before, per key id ("plaintext" for clear)
  bool search_keys_rebuilt = false;      // orders' clear buyer mobiles (from before encryption) were hashed
};

// One event for Apply: a canonical customer or order event as the router delivers it.
struct MasterInput {
  std::string event_id;   // the CloudEvent id: applying the same id twice changes nothing
  std::string type;       // com.channelhub.customer.upserted, com.channelhub.order.*
  std::string data_json;  // the canonical Customer or Order
  int64_t at_ms = 0;      // the event's time (used when a customer has no updated_at)
};

// A golden-record change to publish as customer.golden.updated.
struct Emission {
  int64_t seq = 0;
  std::string golden_id;      // "G42"
  int64_t version = 0;
  std::string origin_system;  // the system whose record caused it; "" for an operator action
  std::string payload;        // the canonical Customer JSON of the golden record (ext.golden: meta)
  std::string event_id() const { return golden_id + ":v" + std::to_string(version); }
};

struct ReviewItem {
  int64_t id = 0;
  std::string state;  // open, accepted, rejected, resolved (the two ended up together anyway)
  double score = 0;
  std::string record;     // "system/id" of the record that arrived
  std::string candidate;  // "system/id" of the record it resembled
  std::string record_golden;     // their golden records now
  std::string candidate_golden;
  std::string terms_json;  // the score's terms: [{"comparison","similarity","weight"}]
  int64_t created_ms = 0;
  int64_t decided_ms = 0;
  std::string actor;
  std::string note;
};

struct SearchQuery {
  std::string phone;
  std::string email;
  std::string name;  // matches normalised names by prefix
  std::string credit_code;
  std::string source;  // "system/id" or "system:id"
  std::size_t limit = 20;
};

struct MasterStats {
  int64_t records = 0;
  int64_t goldens = 0;       // live golden records
  int64_t merged_away = 0;   // golden ids that now point at another
  int64_t open_reviews = 0;
  int64_t pending_emissions = 0;
  int64_t orders = 0;
};

class MasterStore {
 public:
  // Opens or creates the store. "index": load every source record into the matcher and the
  // search index now (the hub does; the CLI does not, and its first Search() loads them).
  static Result<std::unique_ptr<MasterStore>> Open(const MasterOptions& options, bool index = true);
  ~MasterStore();
  MasterStore(const MasterStore&) = delete;
  MasterStore& operator=(const MasterStore&) = delete;

  // Applies events in order, in one transaction. One result per input: OK (applied, or already
  // applied before), or InvalidArgument for an event that can never apply (not a canonical
  // customer or order; the caller dead-letters it). An error of the whole call (the database)
  // means nothing was applied.
  Result<std::vector<Status>> Apply(const std::vector<MasterInput>& inputs);

  // Emissions not yet handed over, oldest first; MarkEmitted removes them once the journal has
  // them durably.
  Result<std::vector<Emission>> PendingEmissions(std::size_t limit);
  Status MarkEmitted(const std::vector<int64_t>& seqs);

  // ---- Operations; each is audited with "actor" and "reason" ----
  // Merges golden record "from" into "into" (ids or merged-away ids). Separations between their
  // records are lifted: the operator's decision wins. Returns the surviving id.
  Result<std::string> Merge(const std::string& into, const std::string& from, const std::string& actor,
                            const std::string& reason);
  // Splits the source record "source" ("system/id") out of its golden record into a new one and
  // keeps it apart from the records it leaves. Returns the new golden id.
  Result<std::string> Unmerge(const std::string& source, const std::string& actor, const std::string& reason);
  // A deletion request (PIPL): removes the golden record of "id" (a golden id or system/id) with
  // every source record linked to it, its versions (and those of golden records merged into
  // it), search keys, review items and the orders counted for it; the id then answers NotFound
  // ("erased"). Returns what the journal must erase too: the person's mobile numbers in their
  // usual spellings, e-mail addresses and WeCom ids (Journal::ErasePayloads), and the records.
  // Audited without any personal data.
  struct Erasure {
    std::string golden_id;
    std::vector<std::string> records;  // "system/id"
    std::vector<std::string> needles;
  };
  Result<Erasure> Erase(const std::string& id, const std::string& actor, const std::string& reason);

  // Accept: the two records' golden records are merged. Reject: they are kept apart.
  Status DecideReview(int64_t id, bool accept, const std::string& actor, const std::string& reason);

  // ---- Reads ----
  // The golden id a golden id, merged-away id or "system/id" resolves to; NotFound otherwise.
  Result<std::string> Resolve(const std::string& id);
  // The 360° view as JSON: golden record, origins, linked records, WeCom followers, credit,
  // order summary, merged-away ids, review items. NotFound for an unknown id.
  Result<std::string> View(const std::string& id);
  // Versions of a golden record, oldest first, as a JSON array.
  Result<std::string> History(const std::string& id);
  // Golden ids matching every given criterion, as a JSON array of {id, name, kind, mobiles}.
  Result<std::string> Search(const SearchQuery& query);
  Result<std::vector<ReviewItem>> Reviews(const std::string& state, std::size_t limit);
  // The audit trail of operations, newest last, as a JSON array.
  Result<std::string> Audit(std::size_t limit);
  Result<MasterStats> Stats();

  // Source records in the matcher (what Open indexed plus what Apply added).
  std::size_t indexed() const;

  // `channelhub rekey`: seals every record and version again with the keyring's current key
  // (clear ones from before encryption too) in batches of a few hundred rows, re-seals the
  // search-index key, and the first time after encryption was turned on replaces the clear
  // search keys with their hashes (one transaction: run that with the hub stopped).
  // REQUIRES: options.keyring.
  static Result<MasterRekeyStats> Rekey(const MasterOptions& options);

 private:
  struct Impl;
  explicit MasterStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The golden id in text form: "G" followed by the number.
std::string GoldenIdText(int64_t id);

}  // namespace channelhub::master
