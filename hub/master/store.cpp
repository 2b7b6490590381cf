#include "hub/master/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <zlib.h>
#include <zstd.h>

#include "hub/common/json.hpp"
#include "hub/common/seal.hpp"
#include "hub/common/time.hpp"
#include "hub/journal/sqlite.hpp"
#include "hub/model/cloudevent.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::master {
namespace {

using journal::Database;
using journal::Statement;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS records(
  rid INTEGER PRIMARY KEY,
  system TEXT NOT NULL,
  source_id TEXT NOT NULL,
  golden INTEGER NOT NULL,
  customer TEXT NOT NULL,
  event_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  UNIQUE(system, source_id));
CREATE INDEX IF NOT EXISTS records_golden ON records(golden);
CREATE TABLE IF NOT EXISTS goldens(
  id INTEGER PRIMARY KEY,
  version INTEGER NOT NULL DEFAULT 0,
  merged_into INTEGER,
  content_hash TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS goldens_merged ON goldens(merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE IF NOT EXISTS versions(
  id INTEGER PRIMARY KEY,
  golden INTEGER NOT NULL,
  version INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  cause TEXT NOT NULL,
  event_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE(golden, version));
-- Search keys live in memory (Impl::search); earlier versions kept them in a table.
DROP INDEX IF EXISTS keys_golden;
DROP TABLE IF EXISTS keys;
CREATE TABLE IF NOT EXISTS reviews(
  id INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL,
  candidate INTEGER NOT NULL,
  score REAL NOT NULL,
  terms TEXT NOT NULL,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  decided_ms INTEGER NOT NULL DEFAULT 0,
  actor TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS reviews_state ON reviews(state);
CREATE UNIQUE INDEX IF NOT EXISTS reviews_pair ON reviews(rid, candidate);
CREATE TABLE IF NOT EXISTS separations(a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY(a, b)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS emissions(
  seq INTEGER PRIMARY KEY,
  golden INTEGER NOT NULL,
  version INTEGER NOT NULL,
  origin TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied(event_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders(
  system TEXT NOT NULL,
  order_no TEXT NOT NULL,
  cust_system TEXT NOT NULL,
  cust_id TEXT NOT NULL,
  mobile TEXT NOT NULL,
  channel TEXT NOT NULL,
  status TEXT NOT NULL,
  currency TEXT NOT NULL,
  total TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY(system, order_no));
CREATE INDEX IF NOT EXISTS orders_customer ON orders(cust_system, cust_id);
CREATE INDEX IF NOT EXISTS orders_mobile ON orders(mobile) WHERE mobile <> '';
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
)sql";

// Encryption at rest: each sealed value names its place (associated data), so that it opens
// only there.
constexpr std::string_view kRecordCustomer = "master.records.customer";
constexpr std::string_view kVersionDoc = "master.versions.doc";
constexpr std::string_view kIndexKey = "master.meta.index_key";

// Internal: a database failure unwinds to the public method, which rolls back.
struct DbFailure {
  Status status;
};

// A cached statement that is reset (and so releases its read snapshot) when it goes out of scope.
class Query {
 public:
  Query(Database& db, const std::string& sql) {
    auto s = db.Cached(sql);
    if (!s.ok()) throw DbFailure{s.status()};
    stmt_ = *s;
  }
  ~Query() { stmt_->Reset(); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Bind(int i, int64_t v) {
    stmt_->Bind(i, v);
    return *this;
  }
  Query& Bind(int i, std::string_view v) {
    stmt_->Bind(i, v);
    return *this;
  }
  Query& BindBlob(int i, std::string_view v) {
    stmt_->BindBlob(i, v);
    return *this;
  }
  Query& BindDouble(int i, double v) {
    // Scores are kept in thousandths.
    stmt_->Bind(i, static_cast<int64_t>(v * 1000.0));
    return *this;
  }
  bool Next() {
    Status st;
    bool row = stmt_->Step(&st);
    if (!st.ok()) throw DbFailure{st};
    return row;
  }
  void Run() {
    while (Next()) {
    }
  }
  int64_t Int(int c) const { return stmt_->Int(c); }
  std::string Text(int c) const { return stmt_->Text(c); }
  std::string_view View(int c) const { return stmt_->TextView(c); }

 private:
  Statement* stmt_ = nullptr;
};

int64_t NowMs() { return NowUnixMillis(); }

std::string TimeText(int64_t ms) { return FormatRfc3339(UtcTime(std::chrono::milliseconds(ms))); }

std::string RecordKey(std::string_view system, std::string_view id) {
  return std::string(system) + "/" + std::string(id);
}

// "system/id" or "system:id" -> (system, id); the system has no '/' or ':'.
std::optional<std::pair<std::string, std::string>> SplitSource(std::string_view text) {
  std::size_t cut = text.find_first_of("/:");
  if (cut == std::string_view::npos || cut == 0 || cut + 1 >= text.size()) return std::nullopt;
  return std::make_pair(std::string(text.substr(0, cut)), std::string(text.substr(cut + 1)));
}

std::optional<int64_t> ParseGoldenId(std::string_view text) {
  if (text.size() < 2 || (text[0] != 'G' && text[0] != 'g')) return std::nullopt;
  int64_t v = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// What a golden record says, to tell a change from a recomputation that changed nothing: a
// 64-bit FNV-1a of the text, twice with different offsets (128 bits), in hex.
std::string ContentHash(std::string_view text) {
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  for (unsigned char c : text) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ c) * 0x100000001b3ULL;
  }
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  return out;
}

// Golden-record JSON in the versions table is stored compressed: it is most of what an upsert
// writes, and JSON with repeated keys shrinks to about a third. Stored form: "\x01S" + a zstd
// frame (level 1, one context per thread: compressing an 800-byte document takes about 4 us,
// where zlib's deflate took 45); "\x01Z" + a raw deflate stream as earlier versions wrote
// it; anything else is plain JSON.
std::string PackDoc(std::string_view json) {
  struct Context {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ~Context() { ZSTD_freeCCtx(cctx); }
  };
  thread_local Context c;
  if (c.cctx == nullptr) return std::string(json);
  std::string out("\x01S", 2);
  out.resize(2 + ZSTD_compressBound(json.size()));
  const std::size_t n = ZSTD_compressCCtx(c.cctx, out.data() + 2, out.size() - 2, json.data(), json.size(), 1);
  if (ZSTD_isError(n)) return std::string(json);
  out.resize(2 + n);
  return out;
}

std::string UnpackDoc(std::string_view stored) {
  if (stored.size() < 2 || stored[0] != '\x01') return std::string(stored);
  if (stored[1] == 'S') {
    const unsigned long long size = ZSTD_getFrameContentSize(stored.data() + 2, stored.size() - 2);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20)) return "";
    std::string out(static_cast<std::size_t>(size), '\0');
    const std::size_t n = ZSTD_decompress(out.data(), out.size(), stored.data() + 2, stored.size() - 2);
    if (ZSTD_isError(n) || n != out.size()) return "";
    return out;
  }
  if (stored[1] != 'Z') return std::string(stored);
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return "";
  std::string out;
  char buf[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data() + 2));
  z.avail_in = static_cast<uInt>(stored.size() - 2);
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

// ---- Survivorship ----

struct Linked {
  int64_t rid = 0;
  std::string system;
  std::string source_id;
  std::string event_id;
  int64_t at_ms = 0;
  int64_t first_ms = 0;
  model::Customer customer;
};

struct Origin {
  const Linked* from = nullptr;
};

bool Newer(const Linked& a, const Linked& b) {
  if (a.at_ms != b.at_ms) return a.at_ms > b.at_ms;
  return a.rid > b.rid;
}

// One attribute: whether a record has it, its value as text (to count equal values), and how to
// copy it onto the golden customer.
struct Attribute {
  const char* name;
  bool list;
  bool (*has)(const model::Customer&);
  std::string (*key)(const model::Customer&);
  void (*copy)(const model::Customer& from, model::Customer* to);
};

std::string AddressText(const model::Address& a) {
  return a.province + "|" + a.city + "|" + a.district + "|" + a.line + "|" + a.postcode + "|" + a.country;
}

std::string AddressDisplay(const model::Address& a) {
  std::string out;
  for (const std::string* p : {&a.province, &a.city, &a.district, &a.line, &a.postcode, &a.country}) {
    if (p->empty()) continue;
    if (!out.empty()) out += ' ';
    out += *p;
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\x1f";
  return out;
}

const std::vector<Attribute>& Attributes() {
  static const std::vector<Attribute> attributes = {
      {"kind", false, [](const model::Customer&) { return true; },
       [](const model::Customer& c) { return std::string(model::CustomerKindName(c.kind)); },
       [](const model::Customer& f, model::Customer* t) { t->kind = f.kind; }},
      {"name", false, [](const model::Customer& c) { return !c.name.empty(); },
       [](const model::Customer& c) { return c.name; },
       [](const model::Customer& f, model::Customer* t) { t->name = f.name; }},
      {"mobiles", true, [](const model::Customer& c) { return !c.mobiles.empty(); },
       [](const model::Customer& c) { return JoinList(c.mobiles); },
       [](const model::Customer& f, model::Customer* t) { t->mobiles = f.mobiles; }},
      {"emails", true, [](const model::Customer& c) { return !c.emails.empty(); },
       [](const model::Customer& c) { return JoinList(c.emails); },
       [](const model::Customer& f, model::Customer* t) { t->emails = f.emails; }},
      {"wecom", false, [](const model::Customer& c) { return !c.wecom.empty(); },
       [](const model::Customer& c) { return c.wecom.external_userid + "|" + c.wecom.unionid; },
       [](const model::Customer& f, model::Customer* t) { t->wecom = f.wecom; }},
      {"credit_code", false, [](const model::Customer& c) { return !c.credit_code.empty(); },
       [](const model::Customer& c) { return c.credit_code; },
       [](const model::Customer& f, model::Customer* t) { t->credit_code = f.credit_code; }},
      {"addresses", true, [](const model::Customer& c) { return !c.addresses.empty(); },
       [](const model::Customer& c) {
         std::string k;
         for (const auto& a : c.addresses) k += AddressText(a) + "\x1f";
         return k;
       },
       [](const model::Customer& f, model::Customer* t) { t->addresses = f.addresses; }},
      {"region", false, [](const model::Customer& c) { return !c.region.empty(); },
       [](const model::Customer& c) { return c.region; },
       [](const model::Customer& f, model::Customer* t) { t->region = f.region; }},
      {"tier", false, [](const model::Customer& c) { return !c.tier.empty(); },
       [](const model::Customer& c) { return c.tier; },
       [](const model::Customer& f, model::Customer* t) { t->tier = f.tier; }},
      {"credit", false, [](const model::Customer& c) { return c.credit.has_value(); },
       [](const model::Customer& c) {
         const model::Credit& k = *c.credit;
         return (k.limit ? k.limit->ToString() : "") + "|" + (k.used ? k.used->ToString() : "") + "|" + k.currency;
       },
       [](const model::Customer& f, model::Customer* t) { t->credit = f.credit; }},
      {"tags", true, [](const model::Customer& c) { return !c.tags.empty(); },
       [](const model::Customer& c) { return JoinList(c.tags); },
       [](const model::Customer& f, model::Customer* t) { t->tags = f.tags; }},
  };
  return attributes;
}

int KindRank(model::CustomerKind k) {
  switch (k) {
    case model::CustomerKind::kDealer: return 2;
    case model::CustomerKind::kCompany: return 1;
    case model::CustomerKind::kPerson: return 0;
  }
  return 0;
}

// The record whose value an attribute takes under "rule" (null when no record has one).
const Linked* Choose(const Attribute& attr, const AttributeSurvivorship& rule, const std::vector<Linked>& records) {
  const Linked* best = nullptr;
  switch (rule.rule) {
    case SurvivorshipRule::kSourcePriority: {
      auto rank = [&](const Linked& r) {
        auto it = std::find(rule.sources.begin(), rule.sources.end(), r.system);
        return static_cast<std::size_t>(it - rule.sources.begin());
      };
      for (const Linked& r : records) {
        if (!attr.has(r.customer)) continue;
        if (!best || rank(r) < rank(*best) || (rank(r) == rank(*best) && Newer(r, *best))) best = &r;
      }
      return best;
    }
    case SurvivorshipRule::kMostRecent:
    case SurvivorshipRule::kUnion:  // on a single-valued attribute (not accepted by the config)
      for (const Linked& r : records) {
        if (attr.has(r.customer) && (!best || Newer(r, *best))) best = &r;
      }
      return best;
    case SurvivorshipRule::kNonEmpty:
      for (const Linked& r : records) {  // records are in the order they were linked
        if (attr.has(r.customer)) return &r;
      }
      return nullptr;
    case SurvivorshipRule::kMostFrequent: {
      std::map<std::string, int> counts;
      for (const Linked& r : records) {
        if (attr.has(r.customer)) ++counts[attr.key(r.customer)];
      }
      int best_count = 0;
      for (const Linked& r : records) {
        if (!attr.has(r.customer)) continue;
        int n = counts[attr.key(r.customer)];
        if (!best || n > best_count || (n == best_count && Newer(r, *best))) {
          best = &r;
          best_count = n;
        }
      }
      return best;
    }
  }
  return nullptr;
}

void WriteOrigin(Writer& w, const Linked& r) {
  w.StartObject();
  w.Key("system");
  w.String(r.system.c_str());
  w.Key("id");
  w.String(r.source_id.c_str());
  w.Key("event_id");
  w.String(r.event_id.c_str());
  w.Key("at");
  w.String(TimeText(r.at_ms).c_str());
  w.EndObject();
}

struct GoldenBuild {
  model::Customer customer;
  std::string origins_json;  // {"name": {...}, "mobiles": [{"value", "system", ...}], ...}
};

// Normalised forms used to remove duplicates from unions.
std::string MobileKey(const std::string& m) { return NormalizeMobile(m).value_or(m); }
std::string EmailKey(const std::string& e) { return NormalizeEmail(e).value_or(e); }

// "normalized": a record's normalised form when the matcher holds it (else null).
GoldenBuild BuildGolden(const std::vector<Linked>& records, const SurvivorshipRules& rules,
                        const std::function<const NormalizedCustomer*(int64_t)>& normalized) {
  GoldenBuild out;
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  for (const Attribute& attr : Attributes()) {
    auto configured = rules.by_attribute.find(attr.name);
    AttributeSurvivorship rule;
    bool kind_default = false;
    if (configured != rules.by_attribute.end()) {
      rule = configured->second;
    } else if (attr.list) {
      rule.rule = SurvivorshipRule::kUnion;
    } else if (std::string_view(attr.name) == "kind") {
      kind_default = true;
    } else {
      rule.rule = rules.default_rule;
    }
    if (kind_default) {
      const Linked* best = nullptr;
      for (const Linked& r : records) {
        if (!best || KindRank(r.customer.kind) > KindRank(best->customer.kind) ||
            (KindRank(r.customer.kind) == KindRank(best->customer.kind) && Newer(r, *best))) {
          best = &r;
        }
      }
      if (best) {
        attr.copy(best->customer, &out.customer);
        w.Key(attr.name);
        WriteOrigin(w, *best);
      }
      continue;
    }
    if (attr.list && rule.rule == SurvivorshipRule::kUnion) {
      // Every value of every record, in the order the records were linked, once each.
      std::set<std::string> seen;
      bool any = false;
      auto add = [&](const std::string& key, const Linked& r, const std::string& shown) {
        if (!seen.insert(key).second) return false;
        if (!any) {
          w.Key(attr.name);
          w.StartArray();
          any = true;
        }
        w.StartObject();
        w.Key("value");
        w.String(shown.c_str());
        w.Key("system");
        w.String(r.system.c_str());
        w.Key("id");
        w.String(r.source_id.c_str());
        w.EndObject();
        return true;
      };
      const std::string name = attr.name;
      for (const Linked& r : records) {
        const model::Customer& c = r.customer;
        if (name == "mobiles") {
          for (const auto& m : c.mobiles) {
            if (add(MobileKey(m), r, m)) out.customer.mobiles.push_back(m);
          }
        } else if (name == "emails") {
          for (const auto& e : c.emails) {
            if (add(EmailKey(e), r, e)) out.customer.emails.push_back(e);
          }
        } else if (name == "tags") {
          for (const auto& t : c.tags) {
            if (add(t, r, t)) out.customer.tags.push_back(t);
          }
        } else if (name == "addresses") {
          const NormalizedCustomer* nc = normalized(r.rid);
          const bool aligned = nc && nc->addresses.size() == c.addresses.size();
          for (std::size_t ai = 0; ai < c.addresses.size(); ++ai) {
            const model::Address& a = c.addresses[ai];
            const NormalizedAddress n = aligned ? nc->addresses[ai] : NormalizeAddress(a);
            // Split into province / city / district when the record gave one line.
            model::Address split = a;
            if (split.province.empty() && split.city.empty() && split.district.empty() &&
                (!n.province.empty() || !n.city.empty())) {
              split.province = n.province;
              split.city = n.city;
              split.district = n.district;
              split.line = n.line;
            }
            if (add(n.key + "|" + n.postcode, r, AddressDisplay(split))) out.customer.addresses.push_back(split);
          }
        }
      }
      if (any) w.EndArray();
      continue;
    }
    if (const Linked* best = Choose(attr, rule, records)) {
      attr.copy(best->customer, &out.customer);
      w.Key(attr.name);
      WriteOrigin(w, *best);
    }
  }
  w.EndObject();
  out.origins_json = buf.GetString();
  // updated_at: the newest record's.
  const Linked* newest = nullptr;
  for (const Linked& r : records) {
    if (!newest || Newer(r, *newest)) newest = &r;
  }
  if (newest) out.customer.updated_at = UtcTime(std::chrono::milliseconds(newest->at_ms));
  return out;
}

// A partial record (a credit feed, a status-only update) keeps what it does not carry.
model::Customer Overlay(const model::Customer& old, model::Customer in) {
  if (in.name.empty()) in.name = old.name;
  if (in.mobiles.empty()) in.mobiles = old.mobiles;
  if (in.emails.empty()) in.emails = old.emails;
  if (in.wecom.external_userid.empty()) in.wecom.external_userid = old.wecom.external_userid;
  if (in.wecom.unionid.empty()) in.wecom.unionid = old.wecom.unionid;
  if (in.credit_code.empty()) in.credit_code = old.credit_code;
  if (in.addresses.empty()) in.addresses = old.addresses;
  if (in.region.empty()) in.region = old.region;
  if (in.tier.empty()) in.tier = old.tier;
  if (!in.credit) in.credit = old.credit;
  if (in.tags.empty()) in.tags = old.tags;
  if (!in.updated_at) in.updated_at = old.updated_at;
  if (!old.ext_json.empty() && old.ext_json != "{}") {
    if (in.ext_json.empty() || in.ext_json == "{}") {
      in.ext_json = old.ext_json;
    } else {
      rapidjson::Document a, b;
      if (json::Parse(old.ext_json, &a).ok() && json::Parse(in.ext_json, &b).ok() && a.IsObject() && b.IsObject()) {
        for (auto& m : b.GetObject()) {
          auto it = a.FindMember(m.name);
          if (it != a.MemberEnd()) {
            it->value.CopyFrom(m.value, a.GetAllocator());
          } else {
            a.AddMember(rapidjson::Value(m.name, a.GetAllocator()), rapidjson::Value(m.value, a.GetAllocator()),
                        a.GetAllocator());
          }
        }
        in.ext_json = json::ToCompact(a);
      }
    }
  }
  return in;
}

}  // namespace

std::string GoldenIdText(int64_t id) { return "G" + std::to_string(id); }

std::optional<SurvivorshipRule> ParseSurvivorshipRule(std::string_view name) {
  if (name == "source_priority") return SurvivorshipRule::kSourcePriority;
  if (name == "most_recent") return SurvivorshipRule::kMostRecent;
  if (name == "most_frequent") return SurvivorshipRule::kMostFrequent;
  if (name == "non_empty") return SurvivorshipRule::kNonEmpty;
  if (name == "union") return SurvivorshipRule::kUnion;
  return std::nullopt;
}

std::string_view SurvivorshipRuleName(SurvivorshipRule rule) {
  switch (rule) {
    case SurvivorshipRule::kSourcePriority: return "source_priority";
    case SurvivorshipRule::kMostRecent: return "most_recent";
    case SurvivorshipRule::kMostFrequent: return "most_frequent";
    case SurvivorshipRule::kNonEmpty: return "non_empty";
    case SurvivorshipRule::kUnion: return "union";
  }
  return "?";
}

struct MasterStore::Impl {
  MasterOptions options;
  std::unique_ptr<Database> db;
  Matcher matcher;
  std::unordered_multimap<uint64_t, int64_t> search;  // see "search keys" below
  bool indexed = false;  // the records are in "matcher" and "search"
  std::mutex mu;
  const seal::Keyring* ring = nullptr;  // options.keyring: null when nothing is sealed
  std::string index_key;                // the blind-index key (orders' buyer mobiles); "" without encryption
  std::optional<seal::BlindIndexKey> index;  // index_key, prepared

  explicit Impl(MasterOptions o) : options(std::move(o)), matcher(options.match), ring(options.keyring.get()) {}

  // ---- encryption at rest ----
  void BindSealed(Query& q, int i, std::string_view value, std::string_view aad) const {
    if (ring) {
      q.BindBlob(i, ring->Seal(value, aad));
    } else {
      q.Bind(i, value);
    }
  }

  // A stored value opened; a clear one as it is. Throws DbFailure (naming the key id) when it
  // does not open.
  std::string Unseal(std::string_view stored, std::string_view aad) const {
    if (!seal::IsSealed(stored)) return std::string(stored);
    auto plain = seal::UnsealOrPass(ring, stored, aad);
    if (!plain.ok()) {
      throw DbFailure{plain.status().Prepend("master record " + options.path + ": " + std::string(aad) + ": ")};
    }
    return std::move(plain).value();
  }

  // Golden-record JSON: deflated, then sealed.
  std::string StoreDoc(std::string_view json) const { return seal::SealOrPass(ring, PackDoc(json), kVersionDoc); }
  std::string ReadDoc(std::string_view stored) const { return UnpackDoc(Unseal(stored, kVersionDoc)); }

  // A search key's stored value: the keyed hash (blind index) when encrypted, else the value.
  std::string KeyValue(std::string_view kind, const std::string& value) const {
    return index ? index->Hash(kind, value) : value;
  }

  // Reads (or, the first time with a keyring, makes) the blind-index key that hashes the orders'
  // buyer mobiles. Its meta rows: "index_key" (sealed with the data key) and "search_keys"
  // ("clear" while mobiles written before encryption are still in clear, until Rekey hashes
  // them; "hashed" after). The name is kept from when the search keys were a table too.
  Status LoadIndexKey(bool warn_if_clear = true) {
    auto read = [&](const char* key) -> Result<std::optional<std::string>> {
      auto q = db->Prepare(std::string("SELECT value FROM meta WHERE key='") + key + "'");
      if (!q.ok()) return q.status();
      Status step;
      std::optional<std::string> out;
      if (q->Step(&step)) out = q->Text(0);
      if (!step.ok()) return step;
      return out;
    };
    auto stored = read("index_key");
    if (!stored.ok()) return stored.status();
    if (!ring) {
      if (*stored && seal::IsSealed(**stored)) {
        return Status::Invalid("master record " + options.path + " is encrypted (data key " +
                               seal::KeyIdText(seal::SealedKeyId(**stored)) +
                               "), but no data_protection key is configured");
      }
      return Status::Ok();
    }
    if (!*stored) {
      // Mobiles stored before encryption was turned on stay in clear until Rekey.
      auto q = db->Prepare("SELECT EXISTS(SELECT 1 FROM orders WHERE mobile<>'')");
      if (!q.ok()) return q.status();
      Status step;
      const bool clear = q->Step(&step) && q->Int(0) != 0;
      CHUB_RETURN_IF_ERROR(step);
      q->Reset();
      auto ins = db->Prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('index_key', ?1), ('search_keys', ?2)");
      if (!ins.ok()) return ins.status();
      ins->BindBlob(1, ring->Seal(seal::RandomKey(), kIndexKey)).Bind(2, clear ? "clear" : "hashed");
      CHUB_RETURN_IF_ERROR(ins->Run());
      stored = read("index_key");  // another process may have made it first: theirs counts
      if (!stored.ok()) return stored.status();
      if (!*stored) return Status::Internal("master record " + options.path + ": the search-index key was not stored");
    }
    auto key = ring->Unseal(**stored, kIndexKey);
    if (!key.ok()) return key.status().Prepend("master record " + options.path + ": search-index key: ");
    index_key = std::move(key).value();
    index.emplace(index_key);
    auto state = read("search_keys");
    if (!state.ok()) return state.status();
    if (warn_if_clear && *state && **state == "clear") {
      spdlog::warn("master record {}: order buyer mobiles stored before encryption was turned on are still in clear; "
                   "stop the hub and run channelhub rekey", options.path);
    }
    return Status::Ok();
  }

  // ---- search keys ----
  // Search by phone, e-mail, credit code and name reads an in-memory index of every linked
  // record's values (not only the survivors): hash of (kind, value) -> record id, with the
  // golden id read from the record at search time, so that merges and unmerges leave it alone.
  // It is built at open with the matcher (from the same normalised records) and kept with it.
  // Earlier versions kept these keys in a table: its inserts at random places in the B-tree
  // were a third of the pages an upsert wrote (bench/master_store_bench: 8.7k -> 12k upserts/s
  // at 100k records without them). Memory: about 40 bytes per key, four or five keys a record.
  static uint64_t SearchHash(std::string_view kind, std::string_view value) {
    std::string k;
    k.reserve(kind.size() + 1 + value.size());
    k.append(kind).push_back('\x1e');
    k.append(value);
    return std::hash<std::string>{}(k);
  }

  template <typename F>
  static void ForEachSearchKey(const NormalizedCustomer& n, F&& f) {
    for (const auto& m : n.mobiles) f("mobile", m);
    for (const auto& e : n.emails) f("email", e);
    if (!n.credit_code.empty()) f("credit_code", n.credit_code);
    if (!n.name_key.empty()) f("name", n.name_key);
  }

  static bool HasSearchKey(const NormalizedCustomer& n, std::string_view kind, std::string_view value) {
    bool found = false;
    ForEachSearchKey(n, [&](std::string_view k, const std::string& v) { found = found || (k == kind && v == value); });
    return found;
  }

  void UnindexSearch(int64_t rid, const NormalizedCustomer& n) {
    ForEachSearchKey(n, [&](std::string_view kind, const std::string& value) {
      auto [lo, hi] = search.equal_range(SearchHash(kind, value));
      for (auto it = lo; it != hi; ++it) {
        if (it->second == rid) {
          search.erase(it);
          break;
        }
      }
    });
  }

  // Puts a record into the matcher and the search index (replacing what they had of it).
  void IndexRecord(const std::string& key, NormalizedCustomer n) {
    const int64_t rid = std::stoll(key);
    if (const NormalizedCustomer* old = matcher.Find(key)) UnindexSearch(rid, *old);
    // Two equal values in one record are one key. Told apart among the record's own few keys:
    // a look through all the records holding the key (equal_range) would walk thousands of
    // nodes for a common name at a million records.
    std::vector<uint64_t> hashes;
    ForEachSearchKey(n, [&](std::string_view kind, const std::string& value) { hashes.push_back(SearchHash(kind, value)); });
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    for (const uint64_t h : hashes) search.emplace(h, rid);
    matcher.Add(key, std::move(n));
  }

  void UnindexRecord(const std::string& key) {
    if (const NormalizedCustomer* old = matcher.Find(key)) UnindexSearch(std::stoll(key), *old);
    matcher.Remove(key);
  }

  // The golden records with a linked record holding (kind, normalised value).
  std::set<int64_t> GoldensWithKey(std::string_view kind, std::string_view value) {
    std::set<int64_t> out;
    auto [lo, hi] = search.equal_range(SearchHash(kind, value));
    for (auto it = lo; it != hi; ++it) {
      const NormalizedCustomer* n = matcher.Find(std::to_string(it->second));
      if (!n || !HasSearchKey(*n, kind, value)) continue;  // a hash collision
      if (const int64_t g = GoldenOf(it->second)) out.insert(g);
      if (out.size() >= 1000) break;
    }
    return out;
  }

  // Every mobile of the records linked to "g", as orders store their buyers' (hashed under
  // encryption).
  std::set<std::string> GoldenOrderMobiles(int64_t g) {
    std::set<std::string> out;
    for (const Linked& r : LoadRecords(g)) {
      NormalizedCustomer scratch;
      for (const auto& m : Normalized(r.rid, r.customer, &scratch)->mobiles) out.insert(KeyValue("mobile", m));
    }
    return out;
  }

  // Reads every record into the matcher and the search index (at open, or at the first search
  // of a store opened without them).
  Status LoadIndex() {
    auto q = db->Prepare("SELECT rid, customer FROM records");
    if (!q.ok()) return q.status();
    Status step;
    try {
      while (q->Step(&step)) {
        auto c = model::CustomerFromJson(Unseal(q->TextView(1), kRecordCustomer));
        if (!c.ok()) continue;
        IndexRecord(std::to_string(q->Int(0)), Normalize(*c, {.wecom_corp = options.wecom_corp}));
      }
    } catch (const DbFailure& f) {
      return f.status;
    }
    CHUB_RETURN_IF_ERROR(step);
    indexed = true;
    return Status::Ok();
  }

  // ---- transactions ----
  template <typename F>
  auto Transaction(F&& body) -> decltype(body()) {
    CHUB_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
    try {
      auto result = body();
      if (result.ok()) {
        Status st = db->Exec("COMMIT");
        if (!st.ok()) {
          (void)db->Exec("ROLLBACK");
          return st;
        }
      } else {
        (void)db->Exec("ROLLBACK");
      }
      return result;
    } catch (const DbFailure& f) {
      (void)db->Exec("ROLLBACK");
      return f.status;
    }
  }

  int64_t GoldenOf(int64_t rid) {
    Query q(*db, "SELECT golden FROM records WHERE rid=?1");
    q.Bind(1, rid);
    return q.Next() ? q.Int(0) : 0;
  }

  int64_t NewGolden(int64_t now) {
    Query q(*db, "INSERT INTO goldens(created_ms, updated_ms) VALUES(?1, ?1)");
    q.Bind(1, now).Run();
    return db->LastInsertRowid();
  }

  // The live golden record an id resolves to (following merges), or 0.
  int64_t Live(int64_t g) {
    for (int hops = 0; hops < 64 && g != 0; ++hops) {
      Query q(*db, "SELECT merged_into FROM goldens WHERE id=?1");
      q.Bind(1, g);
      if (!q.Next()) return 0;
      if (q.View(0).empty()) return g;
      g = q.Int(0);
    }
    return g;
  }

  int64_t ResolveText(const std::string& id) {
    if (auto g = ParseGoldenId(id)) return Live(*g);
    if (auto src = SplitSource(id)) {
      Query q(*db, "SELECT golden FROM records WHERE system=?1 AND source_id=?2");
      q.Bind(1, src->first).Bind(2, src->second);
      if (q.Next()) return q.Int(0);
    }
    return 0;
  }

  bool RecordSeparatedFrom(int64_t rid, int64_t golden) {
    Query q(*db,
            "SELECT 1 FROM separations s JOIN records r ON r.rid=s.b WHERE s.a=?1 AND r.golden=?2 LIMIT 1");
    q.Bind(1, rid).Bind(2, golden);
    return q.Next();
  }

  bool GoldensSeparated(int64_t g1, int64_t g2) {
    Query q(*db,
            "SELECT 1 FROM records r1 JOIN separations s ON s.a=r1.rid JOIN records r2 ON r2.rid=s.b "
            "WHERE r1.golden=?1 AND r2.golden=?2 LIMIT 1");
    q.Bind(1, g1).Bind(2, g2);
    return q.Next();
  }

  void Separate(int64_t a, int64_t b) {
    Query q(*db, "INSERT OR IGNORE INTO separations(a, b) VALUES(?1, ?2), (?2, ?1)");
    q.Bind(1, a).Bind(2, b).Run();
  }

  void Audit(const std::string& actor, const std::string& action, const std::string& target,
             const std::string& detail) {
    Query q(*db, "INSERT INTO audit(at_ms, actor, action, target, detail) VALUES(?1, ?2, ?3, ?4, ?5)");
    q.Bind(1, NowMs()).Bind(2, actor).Bind(3, action).Bind(4, target).Bind(5, detail).Run();
  }

  // Moves every record of "from" into "into"; "from" then names "into".
  void MoveGolden(int64_t into, int64_t from, int64_t now, const std::string& cause, const std::string& event_id,
                  const std::string& actor) {
    {
      Query q(*db, "UPDATE records SET golden=?1 WHERE golden=?2");
      q.Bind(1, into).Bind(2, from).Run();
    }
    {
      Query q(*db, "UPDATE goldens SET merged_into=?1 WHERE id=?2 OR merged_into=?2");
      q.Bind(1, into).Bind(2, from).Run();
    }
    int64_t version = 0;
    {
      Query q(*db, "SELECT version FROM goldens WHERE id=?1");
      q.Bind(1, from);
      if (q.Next()) version = q.Int(0) + 1;
    }
    {
      Query q(*db, "UPDATE goldens SET version=?1, updated_ms=?2 WHERE id=?3");
      q.Bind(1, version).Bind(2, now).Bind(3, from).Run();
    }
    std::string doc = "{\"merged_into\":\"" + GoldenIdText(into) + "\"}";
    Query q(*db,
            "INSERT OR REPLACE INTO versions(golden, version, at_ms, cause, event_id, actor, doc) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    q.Bind(1, from).Bind(2, version).Bind(3, now).Bind(4, cause + "; merged into " + GoldenIdText(into))
        .Bind(5, event_id).Bind(6, actor);
    if (ring) {
      q.BindBlob(7, StoreDoc(doc));
    } else {
      q.Bind(7, doc);
    }
    q.Run();
  }

  std::vector<Linked> LoadRecords(int64_t golden) {
    std::vector<Linked> out;
    Query q(*db,
            "SELECT rid, system, source_id, event_id, at_ms, first_ms, customer FROM records WHERE golden=?1 "
            "ORDER BY first_ms, rid");
    q.Bind(1, golden);
    while (q.Next()) {
      Linked r;
      r.rid = q.Int(0);
      r.system = q.Text(1);
      r.source_id = q.Text(2);
      r.event_id = q.Text(3);
      r.at_ms = q.Int(4);
      r.first_ms = q.Int(5);
      auto c = model::CustomerFromJson(Unseal(q.View(6), kRecordCustomer));
      if (!c.ok()) continue;  // written by Apply from a validated customer: cannot happen
      r.customer = std::move(c).value();
      out.push_back(std::move(r));
    }
    return out;
  }

  const NormalizedCustomer* Normalized(int64_t rid, const model::Customer& c, NormalizedCustomer* scratch) {
    if (const NormalizedCustomer* n = matcher.Find(std::to_string(rid))) return n;
    *scratch = Normalize(c, {.wecom_corp = options.wecom_corp});
    return scratch;
  }

  // Recomputes a golden record from its records. When it changed: a new version, its search
  // keys, and an emission. Returns whether it changed.
  bool Recompute(int64_t g, int64_t now, const std::string& cause, const std::string& event_id,
                 const std::string& origin, const std::string& actor) {
    std::vector<Linked> records = LoadRecords(g);
    if (records.empty()) return false;
    GoldenBuild built = BuildGolden(records, options.survivorship,
                                    [this](int64_t rid) { return matcher.Find(std::to_string(rid)); });
    model::Customer& c = built.customer;
    c.source = {"master", GoldenIdText(g)};
    std::vector<int64_t> merged;
    {
      Query q(*db, "SELECT id FROM goldens WHERE merged_into=?1 ORDER BY id");
      q.Bind(1, g);
      while (q.Next()) merged.push_back(q.Int(0));
    }
    // What the golden record says (compared to decide whether this is a new version).
    auto write_links = [&](Writer& w) {
      w.Key("id");
      w.String(GoldenIdText(g).c_str());
      w.Key("links");
      w.StartArray();
      for (const Linked& r : records) {
        w.StartObject();
        w.Key("system");
        w.String(r.system.c_str());
        w.Key("id");
        w.String(r.source_id.c_str());
        w.EndObject();
      }
      w.EndArray();
      w.Key("merged");
      w.StartArray();
      for (int64_t m : merged) w.String(GoldenIdText(m).c_str());
      w.EndArray();
    };
    std::string content;
    {
      rapidjson::StringBuffer buf;
      Writer w(buf);
      w.StartObject();
      w.Key("golden");
      w.StartObject();
      write_links(w);
      w.EndObject();
      w.EndObject();
      model::Customer plain = c;
      plain.updated_at.reset();
      plain.ext_json = buf.GetString();
      content = ContentHash(model::ToJson(plain));
    }
    int64_t version = 0;
    {
      Query q(*db, "SELECT version, content_hash FROM goldens WHERE id=?1");
      q.Bind(1, g);
      if (!q.Next()) return false;
      if (q.View(1) == content) return false;
      version = q.Int(0) + 1;
    }
    {
      rapidjson::StringBuffer buf;
      Writer w(buf);
      w.StartObject();
      w.Key("golden");
      w.StartObject();
      write_links(w);
      w.Key("version");
      w.Int64(version);
      w.Key("cause");
      w.String(cause.c_str());
      w.Key("changed_by");
      w.String(origin.c_str());
      w.Key("origins");
      w.RawValue(built.origins_json.c_str(), built.origins_json.size(), rapidjson::kObjectType);
      w.EndObject();
      w.EndObject();
      c.ext_json = buf.GetString();
    }
    if (Status st = model::Validate(c); !st.ok()) {
      // A survivor that is not valid canonical data cannot come from validated records; keep
      // the record but say so rather than emitting invalid JSON.
      throw DbFailure{Status::Internal("golden record " + GoldenIdText(g) + " is invalid: " + st.message())};
    }
    const std::string doc = model::ToJson(c);
    {
      // The record itself is kept once, as this version's.
      Query q(*db, "UPDATE goldens SET version=?1, content_hash=?2, updated_ms=?3 WHERE id=?4");
      q.Bind(1, version).Bind(2, content).Bind(3, now).Bind(4, g).Run();
    }
    {
      Query q(*db,
              "INSERT OR REPLACE INTO versions(golden, version, at_ms, cause, event_id, actor, doc) "
              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      q.Bind(1, g).Bind(2, version).Bind(3, now).Bind(4, cause).Bind(5, event_id).Bind(6, actor).BindBlob(7, StoreDoc(doc))
          .Run();
    }
    {
      Query q(*db, "INSERT INTO emissions(golden, version, origin) VALUES(?1, ?2, ?3)");
      q.Bind(1, g).Bind(2, version).Bind(3, origin).Run();
    }
    return true;
  }

  // ---- Apply ----

  struct Undo {
    std::string key;
    std::optional<NormalizedCustomer> previous;
  };

  Status ApplyCustomer(const MasterInput& in, model::Customer c, std::optional<NormalizedCustomer> prepared,
                       int64_t now, std::vector<Undo>* undo) {
    if (c.source.system.empty() || c.source.id.empty()) {
      return Status::Invalid("customer has no source.system and source.id: the master record links records by them");
    }
    if (c.source.system == "master") {
      return Status::Invalid("a golden record (source.system \"master\") cannot be a source record of itself");
    }
    const int64_t at_ms = c.updated_at ? c.updated_at->time_since_epoch().count() : in.at_ms;
    int64_t rid = 0;
    int64_t golden = 0;
    {
      Query q(*db, "SELECT rid, golden, customer FROM records WHERE system=?1 AND source_id=?2");
      q.Bind(1, c.source.system).Bind(2, c.source.id);
      if (q.Next()) {
        rid = q.Int(0);
        golden = q.Int(1);
        auto old = model::CustomerFromJson(Unseal(q.View(2), kRecordCustomer));
        if (old.ok()) {
          model::Customer merged = Overlay(*old, c);
          if (merged == *old) return Status::Ok();  // nothing new (an echo of what it had)
          if (!(merged == c)) prepared.reset();     // normalised before the overlay: again
          c = std::move(merged);
        }
      }
    }
    const std::string customer_json = model::ToJson(c);
    NormalizedCustomer normalized =
        prepared ? std::move(*prepared) : Normalize(c, {.wecom_corp = options.wecom_corp});
    const std::string own = rid ? std::to_string(rid) : "";
    std::vector<MatchResult> results = matcher.Match(normalized);
    std::vector<int64_t> match_goldens;
    const MatchResult* review = nullptr;
    int64_t review_rid = 0;
    for (const MatchResult& m : results) {
      if (m.id == own) continue;
      const int64_t other = std::stoll(m.id);
      if (m.decision == Decision::kMatch) {
        const int64_t g = GoldenOf(other);
        if (g && std::find(match_goldens.begin(), match_goldens.end(), g) == match_goldens.end()) {
          match_goldens.push_back(g);
        }
      } else if (m.decision == Decision::kReview && !review) {
        review = &m;
        review_rid = other;
      }
    }
    const std::string cause = "upsert " + RecordKey(c.source.system, c.source.id);
    if (rid) {
      Query q(*db, "UPDATE records SET customer=?1, event_id=?2, at_ms=?3 WHERE rid=?4");
      BindSealed(q, 1, customer_json, kRecordCustomer);
      q.Bind(2, in.event_id).Bind(3, at_ms).Bind(4, rid).Run();
    } else {
      // The oldest golden record it matches, else a new one. (A new record is kept apart from
      // nothing yet: separations are made by operators between stored records.)
      std::sort(match_goldens.begin(), match_goldens.end());
      golden = match_goldens.empty() ? NewGolden(now) : match_goldens.front();
      Query q(*db,
              "INSERT INTO records(system, source_id, golden, customer, event_id, at_ms, first_ms) "
              "VALUES(?1, ?2, ?7, ?3, ?4, ?5, ?6)");
      q.Bind(1, c.source.system).Bind(2, c.source.id);
      BindSealed(q, 3, customer_json, kRecordCustomer);
      q.Bind(4, in.event_id).Bind(5, at_ms).Bind(6, now).Bind(7, golden).Run();
      rid = db->LastInsertRowid();
    }
    const std::string key = std::to_string(rid);
    const NormalizedCustomer* previous = matcher.Find(key);
    undo->push_back({key, previous ? std::optional<NormalizedCustomer>(*previous) : std::nullopt});
    IndexRecord(key, std::move(normalized));

    // Every other golden record it matches joins (unless an operator kept them apart).
    bool merged_any = false;
    for (int64_t g : match_goldens) {
      if (g == golden || GoldensSeparated(golden, g)) continue;
      const int64_t into = std::min(g, golden);
      const int64_t from = std::max(g, golden);
      MoveGolden(into, from, now, cause, in.event_id, "matcher");
      golden = into;
      merged_any = true;
    }
    if (match_goldens.empty() && review) {
      const int64_t other_golden = GoldenOf(review_rid);
      if (other_golden != golden && !RecordSeparatedFrom(rid, other_golden)) {
        std::vector<ScoreTerm> terms;
        const NormalizedCustomer* a = matcher.Find(key);
        const NormalizedCustomer* b = matcher.Find(review->id);
        if (a && b) master::Score(*a, *b, matcher.config(), &terms);
        rapidjson::StringBuffer buf;
        Writer w(buf);
        w.StartArray();
        for (const ScoreTerm& t : terms) {
          w.StartObject();
          w.Key("comparison");
          w.String(t.comparison.c_str());
          w.Key("similarity");
          w.Double(t.similarity);
          w.Key("weight");
          w.Double(t.weight);
          w.EndObject();
        }
        w.EndArray();
        Query q(*db,
                "INSERT OR IGNORE INTO reviews(rid, candidate, score, terms, state, created_ms) "
                "VALUES(?1, ?2, ?3, ?4, 'open', ?5)");
        q.Bind(1, rid).Bind(2, review_rid).BindDouble(3, review->score).Bind(4, std::string_view(buf.GetString()))
            .Bind(5, now).Run();
      }
    }
    Recompute(golden, now, merged_any ? cause + " (merged matching golden records)" : cause, in.event_id,
              c.source.system, "matcher");
    return Status::Ok();
  }

  Status ApplyOrder(const model::Order& o) {
    std::string cust_system, cust_id, mobile;
    if (o.buyer && !o.buyer->source.id.empty()) {
      cust_system = o.buyer->source.system.empty() ? o.source.system : o.buyer->source.system;
      cust_id = o.buyer->source.id;
    } else if (!o.dealer_id.empty()) {
      cust_system = o.source.system;
      cust_id = o.dealer_id;
    }
    if (o.buyer && !o.buyer->mobile.empty()) mobile = NormalizeMobile(o.buyer->mobile).value_or("");
    if (!mobile.empty()) mobile = KeyValue("mobile", mobile);  // compared with the search keys
    const int64_t created = o.created_at   ? o.created_at->time_since_epoch().count()
                            : o.updated_at ? o.updated_at->time_since_epoch().count()
                                           : NowMs();
    Query q(*db,
            "INSERT OR REPLACE INTO orders(system, order_no, cust_system, cust_id, mobile, channel, status, currency, "
            "total, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    q.Bind(1, o.source.system).Bind(2, o.order_no).Bind(3, cust_system).Bind(4, cust_id).Bind(5, mobile)
        .Bind(6, model::OrderChannelName(o.channel)).Bind(7, model::OrderStatusName(o.status)).Bind(8, o.currency)
        .Bind(9, o.totals.total.ToString()).Bind(10, created).Run();
    return Status::Ok();
  }

  // A customer event parsed and normalised before the transaction (in parallel, outside the lock).
  struct Prepared {
    std::optional<model::Customer> customer;
    std::optional<NormalizedCustomer> normalized;
    Status error;
  };

  static bool IsCustomerType(const std::string& type) {
    return type.starts_with("com.channelhub.customer.") && !type.starts_with("com.channelhub.customer.golden");
  }

  Prepared Prepare(const MasterInput& in) const {
    Prepared p;
    if (!IsCustomerType(in.type)) return p;
    auto c = model::CustomerFromJson(in.data_json);
    if (!c.ok()) {
      p.error = Status::Invalid("not a canonical customer: " + c.status().message());
      return p;
    }
    p.normalized = Normalize(*c, {.wecom_corp = options.wecom_corp});
    p.customer = std::move(c).value();
    return p;
  }

  Status ApplyOne(const MasterInput& in, Prepared prepared, int64_t now, std::vector<Undo>* undo) {
    if (in.type.starts_with("com.channelhub.customer.golden")) {
      return Status::Invalid("a golden-record event cannot be routed back to the master record");
    }
    if (IsCustomerType(in.type)) {
      if (!prepared.error.ok()) return prepared.error;
      return ApplyCustomer(in, std::move(*prepared.customer), std::move(prepared.normalized), now, undo);
    }
    if (in.type.starts_with("com.channelhub.order.")) {
      auto o = model::OrderFromJson(in.data_json);
      if (!o.ok()) return Status::Invalid("not a canonical order: " + o.status().message());
      return ApplyOrder(*o);
    }
    return Status::Invalid("the master record takes customer and order events, not " + in.type +
                           " (check the routes to it)");
  }
};

MasterStore::MasterStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterStore::~MasterStore() = default;

namespace {

// Versions were kept clustered by (golden, version) (WITHOUT ROWID) before: a new version of an
// older golden record then landed in the middle of the largest B-tree, one random page per
// upsert to read, write to the WAL and checkpoint. Kept in arrival order, the documents go to the
// end of the table and only the small (golden, version) index is written at random
// (bench/master_store_bench, 100k records: 11.4k -> 13.2k upserts/s, p99 8.4 -> 7.7 ms).
// Rewrites a table in the old layout, once, in one transaction.
Status MigrateVersions(Database& d) {
  auto q = d.Prepare("SELECT sql FROM sqlite_master WHERE type='table' AND name='versions'");
  if (!q.ok()) return q.status();
  Status step;
  const bool old = q->Step(&step) && q->TextView(0).find("WITHOUT ROWID") != std::string_view::npos;
  CHUB_RETURN_IF_ERROR(step);
  q->Reset();
  if (!old) return Status::Ok();
  spdlog::info("master record: moving golden-record versions to the new table layout (once)");
  CHUB_RETURN_IF_ERROR(d.Exec("BEGIN IMMEDIATE"));
  Status st = d.Exec("ALTER TABLE versions RENAME TO versions_old");
  if (st.ok()) st = d.Exec(kSchema);  // the new versions table
  if (st.ok()) {
    st = d.Exec(
        "INSERT INTO versions(golden, version, at_ms, cause, event_id, actor, doc) "
        "SELECT golden, version, at_ms, cause, event_id, actor, doc FROM versions_old ORDER BY golden, version;"
        "DROP TABLE versions_old;");
  }
  if (st.ok()) st = d.Exec("COMMIT");
  if (!st.ok()) {
    (void)d.Exec("ROLLBACK");
    return st.Prepend("moving the versions table: ");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<MasterStore>> MasterStore::Open(const MasterOptions& options, bool index) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(options.path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  auto db = Database::Open(options.path, 30000);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>(options);
  impl->db = std::move(db).value();
  Database& d = *impl->db;
  CHUB_RETURN_IF_ERROR(d.Exec("PRAGMA journal_mode=WAL"));
  CHUB_RETURN_IF_ERROR(d.Exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  CHUB_RETURN_IF_ERROR(d.Exec("PRAGMA cache_size=-65536"));  // 64 MiB of pages at most
  CHUB_RETURN_IF_ERROR(d.Exec("PRAGMA wal_autocheckpoint=600"));
  Status st = MigrateVersions(d);
  if (st.ok()) st = d.Exec(kSchema);
  if (!st.ok()) return st.Prepend("master record " + options.path + ": ");
  // Checkpoints stay in the writer, every 600 pages of WAL (SQLite's default is 1000). Tried and
  // measured (bench/master_store_bench, batch 32): a checkpointer thread of its own made upserts
  // 3x slower (its fsyncs of the database file compete with the WAL's on the same disk); the
  // checkpoint is what the slowest commits wait for, so its size sets the p99: at 1M records
  // 1000 pages gave 10.5k upserts/s and a p99 of 10.4 ms, 600 pages 10.7k/s and 8.0 ms (at 100k:
  // 400 pages 5.3 ms but 7% fewer upserts, 2500 pages 4% more and 10.2 ms).
  CHUB_RETURN_IF_ERROR(impl->LoadIndexKey());
  if (index) CHUB_RETURN_IF_ERROR(impl->LoadIndex());
  return std::unique_ptr<MasterStore>(new MasterStore(std::move(impl)));
}

Result<MasterRekeyStats> MasterStore::Rekey(const MasterOptions& options) {
  if (!options.keyring) return Status::Invalid("rekey needs a data key (data_protection.key_file)");
  auto db = Database::Open(options.path, 30000);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>(options);
  impl->db = std::move(db).value();
  Impl& m = *impl;
  Database& d = *m.db;
  CHUB_RETURN_IF_ERROR(d.Exec("PRAGMA journal_mode=WAL"));
  // What a rewritten cell held (clear data, or a retired key's ciphertext) is overwritten.
  CHUB_RETURN_IF_ERROR(d.Exec("PRAGMA secure_delete=ON"));
  if (Status st = d.Exec(kSchema); !st.ok()) return st.Prepend("master record " + options.path + ": ");
  CHUB_RETURN_IF_ERROR(m.LoadIndexKey(/*warn_if_clear=*/false));  // this is the rekey it asks for
  const seal::Keyring& ring = *options.keyring;
  MasterRekeyStats stats;
  // One column, in batches keyed by (k1, k2): each batch is one short transaction, so that a
  // running hub's writes wait for a moment only.
  auto reseal = [&](const std::string& select, const std::string& update, std::string_view aad) -> Status {
    int64_t k1 = INT64_MIN, k2 = INT64_MIN;
    for (;;) {
      std::size_t rows = 0;
      Result<bool> r = m.Transaction([&]() -> Result<bool> {
        std::vector<std::tuple<int64_t, int64_t, std::string>> out;
        {
          Query q(d, select);
          q.Bind(1, k1).Bind(2, k2);
          while (q.Next()) {
            ++rows;
            k1 = q.Int(0);
            k2 = q.Int(1);
            std::string_view v = q.View(2);
            if (seal::IsSealed(v)) {
              const seal::KeyId id = seal::SealedKeyId(v);
              ++stats.found[seal::KeyIdText(id)];
              if (id == ring.current_id()) continue;
            } else {
              ++stats.found["plaintext"];
            }
            out.emplace_back(k1, k2, ring.Seal(m.Unseal(v, aad), aad));
          }
        }
        for (auto& [a, b, value] : out) {
          Query q(d, update);
          q.Bind(1, a).Bind(2, b).BindBlob(3, value).Run();
          ++stats.rewritten;
        }
        return true;
      });
      if (!r.ok()) return r.status();
      if (rows < 256) return Status::Ok();
    }
  };
  CHUB_RETURN_IF_ERROR(reseal("SELECT rid, 0, customer FROM records WHERE (rid, 0) > (?1, ?2) ORDER BY rid LIMIT 256",
                              "UPDATE records SET customer=?3 WHERE rid=?1 AND ?2=0", kRecordCustomer));
  CHUB_RETURN_IF_ERROR(reseal(
      "SELECT golden, version, doc FROM versions WHERE (golden, version) > (?1, ?2) ORDER BY golden, version LIMIT 256",
      "UPDATE versions SET doc=?3 WHERE golden=?1 AND version=?2", kVersionDoc));
  auto rest = m.Transaction([&]() -> Result<bool> {
    {  // the search-index key, sealed with the current key (the key itself stays)
      Query q(d, "UPDATE meta SET value=?1 WHERE key='index_key'");
      q.BindBlob(1, ring.Seal(m.index_key, kIndexKey)).Run();
    }
    std::string state;
    {
      Query q(d, "SELECT value FROM meta WHERE key='search_keys'");
      if (q.Next()) state = q.Text(0);
    }
    if (state == "hashed") return true;
    // The first rekey after encryption was turned on: the orders' buyer mobiles, kept to find a
    // customer's guest orders, are hashed (clear ones are E.164, "+86..."; hashes are hex). The
    // other search keys are in memory only.
    std::vector<std::pair<int64_t, std::string>> mobiles;
    {
      Query q(d, "SELECT rowid, mobile FROM orders WHERE mobile LIKE '+%'");
      while (q.Next()) mobiles.emplace_back(q.Int(0), m.KeyValue("mobile", q.Text(1)));
    }
    for (const auto& [row, hashed] : mobiles) {
      Query q(d, "UPDATE orders SET mobile=?1 WHERE rowid=?2");
      q.Bind(1, hashed).Bind(2, row).Run();
    }
    Query(d, "INSERT OR REPLACE INTO meta(key, value) VALUES('search_keys', 'hashed')").Run();
    stats.search_keys_rebuilt = true;
    return true;
  });
  if (!rest.ok()) return rest.status();
  // The WAL's copies of the old pages go too.
  (void)d.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return stats;
}

std::size_t MasterStore::indexed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->matcher.size();
}

Result<std::vector<Status>> MasterStore::Apply(const std::vector<MasterInput>& inputs) {
  Impl& m = *impl_;
  // Parsing and normalising (OpenCC, NFKC) need no lock and no database: both cores do it, while
  // the matching and the writes below run one batch at a time.
  std::vector<Impl::Prepared> prepared(inputs.size());
  if (inputs.size() >= 8) {
    std::thread helper([&] {
      for (std::size_t i = 1; i < inputs.size(); i += 2) prepared[i] = m.Prepare(inputs[i]);
    });
    for (std::size_t i = 0; i < inputs.size(); i += 2) prepared[i] = m.Prepare(inputs[i]);
    helper.join();
  } else {
    for (std::size_t i = 0; i < inputs.size(); ++i) prepared[i] = m.Prepare(inputs[i]);
  }
  std::lock_guard lock(impl_->mu);
  std::vector<Impl::Undo> undo;
  auto result = m.Transaction([&]() -> Result<std::vector<Status>> {
    std::vector<Status> out;
    const int64_t now = NowMs();
    for (std::size_t index = 0; index < inputs.size(); ++index) {
      const MasterInput& in = inputs[index];
      Query(*m.db, "SAVEPOINT one").Run();
      {
        // Applied before (a redelivery after a crash): nothing to do. A refused event leaves no
        // mark (the savepoint is rolled back), so a replay after a fix applies it.
        Query q(*m.db, "INSERT OR IGNORE INTO applied(event_id) VALUES(?1)");
        q.Bind(1, in.event_id).Run();
        if (m.db->Changes() == 0) {
          Query(*m.db, "RELEASE one").Run();
          out.push_back(Status::Ok());
          continue;
        }
      }
      const std::size_t undo_mark = undo.size();
      Status st = m.ApplyOne(in, std::move(prepared[index]), now, &undo);
      if (!st.ok()) {
        Query(*m.db, "ROLLBACK TO one").Run();
        for (std::size_t i = undo.size(); i > undo_mark; --i) {
          Impl::Undo& u = undo[i - 1];
          if (u.previous) {
            m.IndexRecord(u.key, std::move(*u.previous));
          } else {
            m.UnindexRecord(u.key);
          }
        }
        undo.resize(undo_mark);
      }
      Query(*m.db, "RELEASE one").Run();
      out.push_back(std::move(st));
    }
    return out;
  });
  if (!result.ok()) {
    // Nothing was stored: the index forgets this batch too.
    for (std::size_t i = undo.size(); i > 0; --i) {
      Impl::Undo& u = undo[i - 1];
      if (u.previous) {
        m.IndexRecord(u.key, std::move(*u.previous));
      } else {
        m.UnindexRecord(u.key);
      }
    }
  }
  return result;
}

Result<std::vector<Emission>> MasterStore::PendingEmissions(std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  try {
    std::vector<Emission> out;
    // The payload is the version's record (stored once, in versions).
    Query q(*impl_->db,
            "SELECT e.seq, e.golden, e.version, e.origin, v.doc FROM emissions e JOIN versions v ON v.golden=e.golden "
            "AND v.version=e.version ORDER BY e.seq LIMIT ?1");
    q.Bind(1, static_cast<int64_t>(limit));
    while (q.Next()) {
      out.push_back({q.Int(0), GoldenIdText(q.Int(1)), q.Int(2), q.Text(3), impl_->ReadDoc(q.View(4))});
    }
    return out;
  } catch (const DbFailure& f) {
    return f.status;
  }
}

Status MasterStore::MarkEmitted(const std::vector<int64_t>& seqs) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  auto r = m.Transaction([&]() -> Result<bool> {
    for (int64_t s : seqs) {
      Query q(*m.db, "DELETE FROM emissions WHERE seq=?1");
      q.Bind(1, s).Run();
    }
    return true;
  });
  return r.status();
}

Result<std::string> MasterStore::Merge(const std::string& into, const std::string& from, const std::string& actor,
                                       const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  return m.Transaction([&]() -> Result<std::string> {
    const int64_t a = m.ResolveText(into);
    const int64_t b = m.ResolveText(from);
    if (!a) return Status::NotFound("no golden record " + into);
    if (!b) return Status::NotFound("no golden record " + from);
    if (a == b) return Status::Invalid(into + " and " + from + " are already one golden record (" + GoldenIdText(a) + ")");
    const int64_t now = NowMs();
    {  // the operator's decision lifts the separations between their records
      Query q(*m.db,
              "DELETE FROM separations WHERE (a IN (SELECT rid FROM records WHERE golden=?1) AND b IN (SELECT rid "
              "FROM records WHERE golden=?2)) OR (a IN (SELECT rid FROM records WHERE golden=?2) AND b IN (SELECT "
              "rid FROM records WHERE golden=?1))");
      q.Bind(1, a).Bind(2, b).Run();
    }
    const std::string cause = "merge by " + actor + (reason.empty() ? "" : ": " + reason);
    m.MoveGolden(a, b, now, cause, "", actor);
    m.Recompute(a, now, cause, "", "", actor);
    m.Audit(actor, "customers.merge", GoldenIdText(a), GoldenIdText(b) + " merged into " + GoldenIdText(a) +
                                                           (reason.empty() ? "" : "; reason: " + reason));
    return GoldenIdText(a);
  });
}

Result<std::string> MasterStore::Unmerge(const std::string& source, const std::string& actor,
                                         const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  auto src = SplitSource(source);
  if (!src) return Status::Invalid("expected a source record as system/id, like kingdee/CUST0087; got \"" + source + "\"");
  return m.Transaction([&]() -> Result<std::string> {
    int64_t rid = 0, golden = 0;
    {
      Query q(*m.db, "SELECT rid, golden FROM records WHERE system=?1 AND source_id=?2");
      q.Bind(1, src->first).Bind(2, src->second);
      if (!q.Next()) return Status::NotFound("no source record " + RecordKey(src->first, src->second));
      rid = q.Int(0);
      golden = q.Int(1);
    }
    std::vector<int64_t> others;
    {
      Query q(*m.db, "SELECT rid FROM records WHERE golden=?1 AND rid<>?2");
      q.Bind(1, golden).Bind(2, rid);
      while (q.Next()) others.push_back(q.Int(0));
    }
    if (others.empty()) {
      return Status::Invalid(RecordKey(src->first, src->second) + " is the only record of " + GoldenIdText(golden) +
                             "; there is nothing to split it from");
    }
    const int64_t now = NowMs();
    const int64_t fresh = m.NewGolden(now);
    {
      Query q(*m.db, "UPDATE records SET golden=?1 WHERE rid=?2");
      q.Bind(1, fresh).Bind(2, rid).Run();
    }
    for (int64_t o : others) m.Separate(rid, o);
    const std::string cause = "unmerge of " + RecordKey(src->first, src->second) + " by " + actor +
                              (reason.empty() ? "" : ": " + reason);
    m.Recompute(golden, now, cause, "", "", actor);
    m.Recompute(fresh, now, cause, "", "", actor);
    m.Audit(actor, "customers.unmerge", GoldenIdText(golden),
            RecordKey(src->first, src->second) + " split out into " + GoldenIdText(fresh) +
                (reason.empty() ? "" : "; reason: " + reason));
    return GoldenIdText(fresh);
  });
}

Status MasterStore::DecideReview(int64_t id, bool accept, const std::string& actor, const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  auto r = m.Transaction([&]() -> Result<bool> {
    int64_t rid = 0, candidate = 0;
    {
      Query q(*m.db, "SELECT rid, candidate, state FROM reviews WHERE id=?1");
      q.Bind(1, id);
      if (!q.Next()) return Status::NotFound("no review item " + std::to_string(id));
      if (q.View(2) != "open") {
        return Status::Invalid("review item " + std::to_string(id) + " is " + q.Text(2) + " already");
      }
      rid = q.Int(0);
      candidate = q.Int(1);
    }
    const int64_t now = NowMs();
    const int64_t g1 = m.GoldenOf(rid), g2 = m.GoldenOf(candidate);
    std::string detail;
    if (accept) {
      if (g1 != g2) {
        {
          Query q(*m.db, "DELETE FROM separations WHERE (a=?1 AND b=?2) OR (a=?2 AND b=?1)");
          q.Bind(1, rid).Bind(2, candidate).Run();
        }
        const int64_t into = std::min(g1, g2), from = std::max(g1, g2);
        const std::string cause = "review " + std::to_string(id) + " accepted by " + actor;
        m.MoveGolden(into, from, now, cause, "", actor);
        m.Recompute(into, now, cause, "", "", actor);
        detail = GoldenIdText(from) + " merged into " + GoldenIdText(into);
      } else {
        detail = "already one golden record " + GoldenIdText(g1);
      }
    } else {
      m.Separate(rid, candidate);
      detail = "kept apart: " + GoldenIdText(g1) + " and " + GoldenIdText(g2);
    }
    {
      Query q(*m.db, "UPDATE reviews SET state=?1, decided_ms=?2, actor=?3, note=?4 WHERE id=?5");
      q.Bind(1, accept ? "accepted" : "rejected").Bind(2, now).Bind(3, actor).Bind(4, reason).Bind(5, id).Run();
    }
    m.Audit(actor, accept ? "customers.review.accept" : "customers.review.reject", "review " + std::to_string(id),
            detail + (reason.empty() ? "" : "; reason: " + reason));
    return true;
  });
  return r.status();
}

Result<MasterStore::Erasure> MasterStore::Erase(const std::string& id, const std::string& actor,
                                                const std::string& reason) {
  if (reason.empty()) return Status::Invalid("say why the customer is erased (the request's reference): it is audited");
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  std::vector<std::string> removed_keys;
  CHUB_RETURN_IF_ERROR(m.db->Exec("PRAGMA secure_delete=FAST"));  // deleted rows do not linger in pages
  auto result = m.Transaction([&]() -> Result<Erasure> {
    const int64_t g = m.ResolveText(id);
    if (!g) return Status::NotFound("no golden record or source record " + id);
    Erasure e;
    e.golden_id = GoldenIdText(g);
    std::set<std::string> needles;
    auto add_mobile = [&](const std::string& e164) {
      needles.insert(e164);
      if (e164.starts_with("+86") && e164.size() == 14) {
        const std::string n = e164.substr(3);
        needles.insert(n);
        needles.insert(n.substr(0, 3) + " " + n.substr(3, 4) + " " + n.substr(7));
        needles.insert(n.substr(0, 3) + "-" + n.substr(3, 4) + "-" + n.substr(7));
      }
    };
    std::vector<int64_t> rids;
    for (const Linked& r : m.LoadRecords(g)) {
      rids.push_back(r.rid);
      e.records.push_back(RecordKey(r.system, r.source_id));
      NormalizedCustomer scratch;
      const NormalizedCustomer* n = m.Normalized(r.rid, r.customer, &scratch);
      for (const auto& mob : n->mobiles) add_mobile(mob);
      for (const auto& mob : r.customer.mobiles) add_mobile(mob);
      for (const auto& em : n->emails) needles.insert(em);
      for (const std::string* v : {&n->wecom_unionid, &n->wecom_external_userid}) {
        if (v->size() >= 6) needles.insert(*v);
      }
    }
    for (const std::string& nd : needles) {
      if (nd.size() >= 6) e.needles.push_back(nd);
    }
    std::vector<int64_t> goldens = {g};
    {
      Query q(*m.db, "SELECT id FROM goldens WHERE merged_into=?1");
      q.Bind(1, g);
      while (q.Next()) goldens.push_back(q.Int(0));
    }
    for (int64_t rid : rids) {
      for (const char* sql : {"DELETE FROM reviews WHERE rid=?1 OR candidate=?1",
                              "DELETE FROM separations WHERE a=?1 OR b=?1"}) {
        Query q(*m.db, sql);
        q.Bind(1, rid).Run();
      }
      {
        Query q(*m.db,
                "DELETE FROM orders WHERE (cust_system, cust_id) IN (SELECT system, source_id FROM records WHERE rid=?1)");
        q.Bind(1, rid).Run();
      }
      removed_keys.push_back(std::to_string(rid));
    }
    for (const std::string& mobile : m.GoldenOrderMobiles(g)) {
      Query q(*m.db, "DELETE FROM orders WHERE mobile=?1 AND mobile<>''");
      q.Bind(1, mobile).Run();
    }
    for (int64_t x : goldens) {
      for (const char* sql : {"DELETE FROM versions WHERE golden=?1",
                              "DELETE FROM emissions WHERE golden=?1", "DELETE FROM records WHERE golden=?1"}) {
        Query q(*m.db, sql);
        q.Bind(1, x).Run();
      }
      Query q(*m.db, "UPDATE goldens SET content_hash='erased', merged_into=NULL, updated_ms=?2 WHERE id=?1");
      q.Bind(1, x).Bind(2, NowMs()).Run();
    }
    m.Audit(actor, "customers.erase", e.golden_id,
            std::to_string(e.records.size()) + " source record(s) and " + std::to_string(goldens.size()) +
                " golden id(s) erased; reason: " + reason);
    return e;
  });
  if (result.ok()) {
    for (const std::string& k : removed_keys) m.UnindexRecord(k);  // the person leaves memory too
    (void)m.db->Exec("PRAGMA wal_checkpoint(TRUNCATE)");             // and the WAL's old pages
  }
  return result;
}

Result<std::string> MasterStore::Resolve(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  try {
    const int64_t g = impl_->ResolveText(id);
    if (!g) return Status::NotFound("no golden record or source record " + id);
    return GoldenIdText(g);
  } catch (const DbFailure& f) {
    return f.status;
  }
}

namespace {

void WriteRaw(Writer& w, std::string_view json) {
  if (json.empty()) {
    w.Null();
  } else {
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }
}

}  // namespace

Result<std::string> MasterStore::View(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  try {
    const int64_t g = m.ResolveText(id);
    if (!g) return Status::NotFound("no golden record or source record " + id);
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("id");
    w.String(GoldenIdText(g).c_str());
    if (id != GoldenIdText(g)) {
      w.Key("resolved_from");
      w.String(id.c_str());
    }
    std::string doc;
    {
      Query q(*m.db,
              "SELECT g.version, v.doc, g.created_ms, g.updated_ms FROM goldens g JOIN versions v ON v.golden=g.id AND "
              "v.version=g.version WHERE g.id=?1");
      q.Bind(1, g);
      if (!q.Next()) return Status::NotFound("no golden record " + id + " (it may have been erased on request)");
      w.Key("version");
      w.Int64(q.Int(0));
      w.Key("created_at");
      w.String(TimeText(q.Int(2)).c_str());
      w.Key("updated_at");
      w.String(TimeText(q.Int(3)).c_str());
      doc = m.ReadDoc(q.View(1));
    }
    // The golden record, and its attributes' origins lifted out of ext.golden.
    rapidjson::Document d;
    std::string origins = "{}";
    if (json::Parse(doc, &d).ok() && d.IsObject()) {
      auto ext = d.FindMember("ext");
      if (ext != d.MemberEnd() && ext->value.IsObject()) {
        auto gm = ext->value.FindMember("golden");
        if (gm != ext->value.MemberEnd() && gm->value.IsObject()) {
          auto o = gm->value.FindMember("origins");
          if (o != gm->value.MemberEnd()) origins = json::ToCompact(o->value);
        }
        d.RemoveMember("ext");
      }
      w.Key("golden");
      const std::string compact = json::ToCompact(d);
      WriteRaw(w, compact);
    }
    w.Key("origins");
    WriteRaw(w, origins);
    std::vector<Linked> records = m.LoadRecords(g);
    w.Key("records");
    w.StartArray();
    std::vector<std::pair<std::string, std::string>> followers;  // (userid, system/id)
    for (const Linked& r : records) {
      w.StartObject();
      w.Key("system");
      w.String(r.system.c_str());
      w.Key("id");
      w.String(r.source_id.c_str());
      w.Key("linked_at");
      w.String(TimeText(r.first_ms).c_str());
      w.Key("updated_at");
      w.String(TimeText(r.at_ms).c_str());
      w.Key("event_id");
      w.String(r.event_id.c_str());
      w.Key("customer");
      const std::string cj = model::ToJson(r.customer);
      WriteRaw(w, cj);
      w.EndObject();
      // WeCom followers: the staff who have this contact (ext.follow_userid / ext.follow_users).
      rapidjson::Document e;
      if (!r.customer.ext_json.empty() && json::Parse(r.customer.ext_json, &e).ok() && e.IsObject()) {
        auto add = [&](const rapidjson::Value& v) {
          if (v.IsString() && v.GetStringLength() > 0) followers.emplace_back(v.GetString(), RecordKey(r.system, r.source_id));
        };
        if (auto it = e.FindMember("follow_userid"); it != e.MemberEnd()) add(it->value);
        if (auto it = e.FindMember("follow_users"); it != e.MemberEnd() && it->value.IsArray()) {
          for (const auto& v : it->value.GetArray()) {
            if (v.IsObject() && v.HasMember("userid")) {
              add(v["userid"]);
            } else {
              add(v);
            }
          }
        }
      }
    }
    w.EndArray();
    std::sort(followers.begin(), followers.end());
    followers.erase(std::unique(followers.begin(), followers.end()), followers.end());
    w.Key("wecom_followers");
    w.StartArray();
    for (const auto& [user, rec] : followers) {
      w.StartObject();
      w.Key("userid");
      w.String(user.c_str());
      w.Key("record");
      w.String(rec.c_str());
      w.EndObject();
    }
    w.EndArray();
    // Credit standing: the golden credit line and where it came from.
    w.Key("credit");
    {
      const rapidjson::Value* credit = d.IsObject() && d.HasMember("credit") ? &d["credit"] : nullptr;
      if (!credit) {
        w.Null();
      } else {
        w.StartObject();
        for (const char* k : {"limit", "used", "currency"}) {
          if (credit->HasMember(k) && (*credit)[k].IsString()) {
            w.Key(k);
            w.String((*credit)[k].GetString());
          }
        }
        auto lim = credit->HasMember("limit") ? Decimal::Parse((*credit)["limit"].GetString()) : Result<Decimal>(Status::Invalid(""));
        auto used = credit->HasMember("used") ? Decimal::Parse((*credit)["used"].GetString()) : Result<Decimal>(Status::Invalid(""));
        if (lim.ok() && used.ok()) {
          if (auto avail = lim->Sub(*used); avail.ok()) {
            w.Key("available");
            w.String(avail->ToString().c_str());
            w.Key("over_limit");
            w.Bool(avail->IsNegative());
          }
        }
        w.EndObject();
      }
    }
    // Orders: those whose buyer or dealer is one of the records, and guest orders by mobile.
    struct OrderRow {
      std::string system, order_no, channel, status, currency, total;
      int64_t created_ms;
    };
    std::map<std::pair<std::string, std::string>, OrderRow> orders;
    {
      Query q(*m.db,
              "SELECT o.system, o.order_no, o.channel, o.status, o.currency, o.total, o.created_ms FROM orders o "
              "JOIN records r ON o.cust_system=r.system AND o.cust_id=r.source_id WHERE r.golden=?1");
      q.Bind(1, g);
      while (q.Next()) {
        orders[{q.Text(0), q.Text(1)}] = {q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)};
      }
    }
    for (const std::string& mobile : m.GoldenOrderMobiles(g)) {
      Query q(*m.db,
              "SELECT o.system, o.order_no, o.channel, o.status, o.currency, o.total, o.created_ms FROM orders o "
              "WHERE o.mobile=?1 AND o.cust_id=''");
      q.Bind(1, mobile);
      while (q.Next()) {
        orders[{q.Text(0), q.Text(1)}] = {q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)};
      }
    }
    w.Key("orders");
    w.StartObject();
    w.Key("count");
    w.Int64(static_cast<int64_t>(orders.size()));
    std::map<std::string, Decimal> totals;
    std::set<std::string> channels;
    int64_t open = 0;
    const OrderRow* last = nullptr;
    for (const auto& [k, o] : orders) {
      if (o.status != "cancelled" && o.status != "refunded") {
        auto t = Decimal::Parse(o.total);
        if (t.ok()) {
          auto sum = totals[o.currency].Add(*t);
          if (sum.ok()) totals[o.currency] = *sum;
        }
      }
      channels.insert(o.channel);
      if (o.status == "created" || o.status == "confirmed" || o.status == "paid" || o.status == "shipped") ++open;
      if (!last || o.created_ms > last->created_ms) last = &o;
    }
    w.Key("total");
    w.StartObject();
    for (const auto& [cur, sum] : totals) {
      w.Key(cur.c_str());
      w.String(sum.ToString().c_str());
    }
    w.EndObject();
    w.Key("open");
    w.Int64(open);
    w.Key("channels");
    w.StartArray();
    for (const auto& c : channels) w.String(c.c_str());
    w.EndArray();
    w.Key("last_order");
    if (last) {
      w.StartObject();
      w.Key("system");
      w.String(last->system.c_str());
      w.Key("order_no");
      w.String(last->order_no.c_str());
      w.Key("status");
      w.String(last->status.c_str());
      w.Key("total");
      w.String(last->total.c_str());
      w.Key("currency");
      w.String(last->currency.c_str());
      w.Key("created_at");
      w.String(TimeText(last->created_ms).c_str());
      w.EndObject();
    } else {
      w.Null();
    }
    w.EndObject();
    w.Key("merged_ids");
    w.StartArray();
    {
      Query q(*m.db, "SELECT id FROM goldens WHERE merged_into=?1 ORDER BY id");
      q.Bind(1, g);
      while (q.Next()) w.String(GoldenIdText(q.Int(0)).c_str());
    }
    w.EndArray();
    w.Key("open_reviews");
    w.StartArray();
    {
      Query q(*m.db,
              "SELECT v.id FROM reviews v JOIN records a ON a.rid=v.rid JOIN records b ON b.rid=v.candidate "
              "WHERE v.state='open' AND (a.golden=?1 OR b.golden=?1) AND a.golden<>b.golden ORDER BY v.id");
      q.Bind(1, g);
      while (q.Next()) w.Int64(q.Int(0));
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString());
  } catch (const DbFailure& f) {
    return f.status;
  }
}

Result<std::string> MasterStore::History(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  try {
    int64_t g = 0;
    if (auto p = ParseGoldenId(id)) g = *p;  // a merged-away id shows its own history
    if (!g) g = m.ResolveText(id);
    if (!g) return Status::NotFound("no golden record " + id);
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    Query q(*m.db, "SELECT version, at_ms, cause, event_id, actor, doc FROM versions WHERE golden=?1 ORDER BY version");
    q.Bind(1, g);
    bool any = false;
    while (q.Next()) {
      any = true;
      w.StartObject();
      w.Key("version");
      w.Int64(q.Int(0));
      w.Key("at");
      w.String(TimeText(q.Int(1)).c_str());
      w.Key("cause");
      w.String(q.Text(2).c_str());
      w.Key("event_id");
      w.String(q.Text(3).c_str());
      w.Key("actor");
      w.String(q.Text(4).c_str());
      w.Key("record");
      WriteRaw(w, m.ReadDoc(q.View(5)));
      w.EndObject();
    }
    w.EndArray();
    if (!any) return Status::NotFound("no golden record " + id);
    return std::string(buf.GetString());
  } catch (const DbFailure& f) {
    return f.status;
  }
}

Result<std::string> MasterStore::Search(const SearchQuery& query) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  if (!m.indexed) CHUB_RETURN_IF_ERROR(m.LoadIndex());
  try {
    std::optional<std::set<int64_t>> found;
    auto restrict = [&](std::set<int64_t> ids) {
      if (!found) {
        found = std::move(ids);
        return;
      }
      std::set<int64_t> both;
      for (int64_t i : ids) {
        if (found->count(i)) both.insert(i);
      }
      found = std::move(both);
    };
    auto exact = [&](std::string_view kind, const std::string& value) { restrict(m.GoldensWithKey(kind, value)); };
    if (!query.phone.empty()) {
      auto p = NormalizeMobile(query.phone);
      if (!p) return Status::Invalid("phone \"" + query.phone + "\" is not a phone number");
      exact("mobile", *p);
    }
    if (!query.email.empty()) {
      auto e = NormalizeEmail(query.email);
      if (!e) return Status::Invalid("email \"" + query.email + "\" is not an e-mail address");
      exact("email", *e);
    }
    if (!query.credit_code.empty()) exact("credit_code", NormalizeCreditCode(query.credit_code).first);
    if (!query.name.empty()) {
      std::set<int64_t> ids;
      for (auto kind : {model::CustomerKind::kPerson, model::CustomerKind::kCompany}) {
        const std::string k = NormalizeName(query.name, kind).second;
        if (k.empty()) continue;
        ids.merge(m.GoldensWithKey("name", k));
        // A prefix ("张" finds 张伟 and 张敏): a pass over the records in memory, a few
        // milliseconds a million records.
        m.matcher.ForEach([&](std::string_view id, const NormalizedCustomer& n) {
          if (ids.size() >= 1000 || n.name_key.size() <= k.size() || !n.name_key.starts_with(k)) return;
          if (const int64_t g = m.GoldenOf(std::stoll(std::string(id)))) ids.insert(g);
        });
      }
      restrict(std::move(ids));
    }
    if (!query.source.empty()) {
      auto src = SplitSource(query.source);
      if (!src) return Status::Invalid("source \"" + query.source + "\" should be system/id, like kingdee/CUST0087");
      std::set<int64_t> ids;
      Query q(*m.db, "SELECT golden FROM records WHERE system=?1 AND source_id=?2");
      q.Bind(1, src->first).Bind(2, src->second);
      while (q.Next()) ids.insert(q.Int(0));
      restrict(std::move(ids));
    }
    if (!found) return Status::Invalid("give at least one of phone, email, name, credit_code, source");
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    std::size_t n = 0;
    for (int64_t g : *found) {
      if (n++ >= query.limit) break;
      Query q(*m.db,
              "SELECT v.doc, (SELECT count(*) FROM records WHERE golden=?1) FROM goldens g JOIN versions v ON "
              "v.golden=g.id AND v.version=g.version WHERE g.id=?1");
      q.Bind(1, g);
      if (!q.Next()) continue;
      rapidjson::Document d;
      w.StartObject();
      w.Key("id");
      w.String(GoldenIdText(g).c_str());
      w.Key("records");
      w.Int64(q.Int(1));
      if (json::Parse(m.ReadDoc(q.View(0)), &d).ok() && d.IsObject()) {
        for (const char* k : {"kind", "name", "mobiles", "emails", "credit_code"}) {
          if (!d.HasMember(k)) continue;
          w.Key(k);
          const std::string v = json::ToCompact(d[k]);
          w.RawValue(v.data(), v.size(), d[k].GetType());
        }
      }
      w.EndObject();
    }
    w.EndArray();
    return std::string(buf.GetString());
  } catch (const DbFailure& f) {
    return f.status;
  }
}

Result<std::vector<ReviewItem>> MasterStore::Reviews(const std::string& state, std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  try {
    std::vector<ReviewItem> out;
    Query q(*m.db,
            "SELECT v.id, v.state, v.score, a.system, a.source_id, b.system, b.source_id, a.golden, b.golden, "
            "v.terms, v.created_ms, v.decided_ms, v.actor, v.note FROM reviews v JOIN records a ON a.rid=v.rid "
            "JOIN records b ON b.rid=v.candidate WHERE (?1='' OR v.state=?1 OR (?1='resolved' AND v.state='open')) "
            "ORDER BY v.id LIMIT ?2");
    q.Bind(1, state).Bind(2, static_cast<int64_t>(limit));
    while (q.Next()) {
      ReviewItem r;
      r.id = q.Int(0);
      r.state = q.Text(1);
      r.score = static_cast<double>(q.Int(2)) / 1000.0;
      r.record = RecordKey(q.View(3), q.View(4));
      r.candidate = RecordKey(q.View(5), q.View(6));
      r.record_golden = GoldenIdText(q.Int(7));
      r.candidate_golden = GoldenIdText(q.Int(8));
      if (r.state == "open" && r.record_golden == r.candidate_golden) r.state = "resolved";
      r.terms_json = q.Text(9);
      r.created_ms = q.Int(10);
      r.decided_ms = q.Int(11);
      r.actor = q.Text(12);
      r.note = q.Text(13);
      if (state == "open" && r.state != "open") continue;
      if (state == "resolved" && r.state != "resolved") continue;
      out.push_back(std::move(r));
    }
    return out;
  } catch (const DbFailure& f) {
    return f.status;
  }
}

Result<std::string> MasterStore::Audit(std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  try {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    Query q(*impl_->db,
            "SELECT id, at_ms, actor, action, target, detail FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) "
            "ORDER BY id");
    q.Bind(1, static_cast<int64_t>(limit));
    while (q.Next()) {
      w.StartObject();
      w.Key("id");
      w.Int64(q.Int(0));
      w.Key("at");
      w.String(TimeText(q.Int(1)).c_str());
      w.Key("actor");
      w.String(q.Text(2).c_str());
      w.Key("action");
      w.String(q.Text(3).c_str());
      w.Key("target");
      w.String(q.Text(4).c_str());
      w.Key("detail");
      w.String(q.Text(5).c_str());
      w.EndObject();
    }
    w.EndArray();
    return std::string(buf.GetString());
  } catch (const DbFailure& f) {
    return f.status;
  }
}

Result<MasterStats> MasterStore::Stats() {
  std::lock_guard lock(impl_->mu);
  try {
    MasterStats s;
    Query q(*impl_->db,
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM goldens WHERE merged_into IS NULL AND "
            "content_hash<>'erased'), "
            "(SELECT count(*) FROM goldens WHERE merged_into IS NOT NULL), (SELECT count(*) FROM reviews WHERE "
            "state='open'), (SELECT count(*) FROM emissions), (SELECT count(*) FROM orders)");
    if (q.Next()) {
      s.records = q.Int(0);
      s.goldens = q.Int(1);
      s.merged_away = q.Int(2);
      s.open_reviews = q.Int(3);
      s.pending_emissions = q.Int(4);
      s.orders = q.Int(5);
    }
    return s;
  } catch (const DbFailure& f) {
    return f.status;
  }
}

}  // namespace channelhub::master
