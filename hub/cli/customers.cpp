// `channelhub customers`: the master customer record from a terminal.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "hub/cli/serve.hpp"
#include "hub/common/json.hpp"
#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/master/store.hpp"
#include "hub/pipeline/master_sink.hpp"

namespace channelhub::cli {
namespace {

std::string Actor(const std::string& given) {
  if (!given.empty()) return given;
  const char* user = std::getenv("USER");
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string("cli:") + (user && *user ? user : "unknown") + "@" + (host[0] ? host : "localhost");
}

std::string Str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key)) return "";
  const auto& m = v[key];
  if (m.IsString()) return m.GetString();
  if (m.IsInt64()) return std::to_string(m.GetInt64());
  return json::ToCompact(m);
}

std::string Origin(const rapidjson::Value& origins, const char* attr) {
  if (!origins.IsObject() || !origins.HasMember(attr)) return "";
  const auto& o = origins[attr];
  if (o.IsObject()) return "  [" + Str(o, "system") + "/" + Str(o, "id") + "]";
  return "";
}

// The 360° view laid out for a terminal.
void PrintView(const std::string& text) {
  rapidjson::Document d;
  if (!json::Parse(text, &d).ok() || !d.IsObject()) {
    std::printf("%s\n", text.c_str());
    return;
  }
  const auto& g = d["golden"];
  const rapidjson::Value& origins = d["origins"];
  std::printf("%s  %s  (%s, version %s)\n", Str(d, "id").c_str(), Str(g, "name").c_str(), Str(g, "kind").c_str(),
              Str(d, "version").c_str());
  if (d.HasMember("resolved_from")) std::printf("  resolved from %s\n", Str(d, "resolved_from").c_str());
  auto list = [&](const char* label, const char* key) {
    if (!g.HasMember(key) || !g[key].IsArray() || g[key].Empty()) return;
    std::printf("  %-12s", label);
    const auto& arr = g[key];
    for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
      const std::string v = arr[i].IsString() ? arr[i].GetString() : json::ToCompact(arr[i]);
      std::string from;
      if (origins.IsObject() && origins.HasMember(key) && origins[key].IsArray() && i < origins[key].Size()) {
        from = " [" + Str(origins[key][i], "system") + "/" + Str(origins[key][i], "id") + "]";
      }
      std::printf("%s%s%s", i ? ", " : "", v.c_str(), from.c_str());
    }
    std::printf("\n");
  };
  std::printf("  %-12s%s%s\n", "name", Str(g, "name").c_str(), Origin(origins, "name").c_str());
  list("mobiles", "mobiles");
  list("emails", "emails");
  for (const char* k : {"credit_code", "region", "tier"}) {
    if (g.HasMember(k)) std::printf("  %-12s%s%s\n", k, Str(g, k).c_str(), Origin(origins, k).c_str());
  }
  if (g.HasMember("wecom")) std::printf("  %-12s%s%s\n", "wecom", Str(g, "wecom").c_str(), Origin(origins, "wecom").c_str());
  if (g.HasMember("addresses") && g["addresses"].IsArray()) {
    for (const auto& a : g["addresses"].GetArray()) {
      std::string text;
      for (const char* k : {"province", "city", "district", "line", "postcode"}) {
        const std::string part = Str(a, k);
        if (part.empty()) continue;
        text += (text.empty() ? "" : " ") + part;
      }
      std::printf("  %-12s%s\n", "address", text.c_str());
    }
  }
  list("tags", "tags");
  const auto& credit = d["credit"];
  if (credit.IsObject()) {
    std::printf("  %-12slimit %s, used %s, available %s %s%s%s\n", "credit", Str(credit, "limit").c_str(),
                Str(credit, "used").c_str(), Str(credit, "available").c_str(), Str(credit, "currency").c_str(),
                credit.HasMember("over_limit") && credit["over_limit"].IsTrue() ? "  OVER LIMIT" : "",
                Origin(origins, "credit").c_str());
  }
  const auto& orders = d["orders"];
  std::string totals;
  if (orders.HasMember("total") && orders["total"].IsObject()) {
    for (const auto& t : orders["total"].GetObject()) {
      totals += std::string(totals.empty() ? "" : " + ") + t.value.GetString() + " " + t.name.GetString();
    }
  }
  std::printf("  %-12s%s order(s), %s open, total %s, channels %s\n", "orders", Str(orders, "count").c_str(),
              Str(orders, "open").c_str(), totals.empty() ? "-" : totals.c_str(), Str(orders, "channels").c_str());
  if (orders.HasMember("last_order") && orders["last_order"].IsObject()) {
    const auto& l = orders["last_order"];
    std::printf("  %-12s%s/%s %s %s %s at %s\n", "last order", Str(l, "system").c_str(), Str(l, "order_no").c_str(),
                Str(l, "status").c_str(), Str(l, "total").c_str(), Str(l, "currency").c_str(),
                Str(l, "created_at").c_str());
  }
  if (d["wecom_followers"].IsArray() && !d["wecom_followers"].Empty()) {
    std::printf("  %-12s", "followed by");
    bool first = true;
    for (const auto& f : d["wecom_followers"].GetArray()) {
      std::printf("%s%s", first ? "" : ", ", Str(f, "userid").c_str());
      first = false;
    }
    std::printf("\n");
  }
  std::printf("  linked records:\n");
  for (const auto& r : d["records"].GetArray()) {
    std::printf("    %-28s %-20s linked %s, updated %s\n", (Str(r, "system") + "/" + Str(r, "id")).c_str(),
                Str(r["customer"], "name").c_str(), Str(r, "linked_at").c_str(), Str(r, "updated_at").c_str());
  }
  if (d["merged_ids"].IsArray() && !d["merged_ids"].Empty()) std::printf("  merged ids:  %s\n", Str(d, "merged_ids").c_str());
  if (d["open_reviews"].IsArray() && !d["open_reviews"].Empty()) {
    std::printf("  open review items: %s (channelhub customers reviews)\n", Str(d, "open_reviews").c_str());
  }
}

}  // namespace

int Customers(const CustomersOptions& options) {
  const std::optional<config::Config> loaded = LoadForCommand(options.config_path, options.data_dir);
  if (!loaded) return 2;
  const config::Config& cfg = *loaded;
  if (cfg.master_destination.empty()) {
    std::fprintf(stderr,
                 "channelhub: %s has no master customer record (add a destination of type master and route "
                 "customer events to it)\n",
                 options.config_path.c_str());
    return 2;
  }
  auto mo = pipeline::MasterOptionsFrom(cfg);
  if (!mo.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", mo.status().message().c_str());
    return 2;
  }
  auto store = master::MasterStore::Open(*mo, /*index=*/false);
  if (!store.ok()) {
    std::fprintf(stderr, "channelhub: master record: %s\n", store.status().ToString().c_str());
    return 1;
  }
  master::MasterStore& s = **store;
  const std::string actor = Actor(options.actor);
  auto done = [](const Status& st) {
    if (st.ok()) return 0;
    std::fprintf(stderr, "channelhub: %s\n", st.message().c_str());
    return st.code() == StatusCode::kNotFound || st.code() == StatusCode::kInvalidArgument ? 2 : 1;
  };
  auto print = [&](const Result<std::string>& r) {
    if (!r.ok()) return done(r.status());
    std::printf("%s\n", r->c_str());
    return 0;
  };
  const std::string& a = options.action;
  if (a == "show") {
    auto v = s.View(options.id);
    if (!v.ok()) return done(v.status());
    if (options.json) {
      std::printf("%s\n", v->c_str());
    } else {
      PrintView(*v);
    }
    return 0;
  }
  if (a == "history") return print(s.History(options.id));
  if (a == "audit") return print(s.Audit(options.limit));
  if (a == "search") {
    master::SearchQuery q{options.phone, options.email, options.name, options.credit_code, options.source, options.limit};
    return print(s.Search(q));
  }
  if (a == "reviews") {
    auto items = s.Reviews(options.state == "all" ? "" : options.state, options.limit);
    if (!items.ok()) return done(items.status());
    for (const auto& r : *items) {
      std::printf("%lld  %-9s score %6.2f  %s (%s)  ~  %s (%s)  %s\n", static_cast<long long>(r.id), r.state.c_str(),
                  r.score, r.record.c_str(), r.record_golden.c_str(), r.candidate.c_str(), r.candidate_golden.c_str(),
                  r.terms_json.c_str());
    }
    if (items->empty()) std::printf("no %s review items\n", options.state.c_str());
    return 0;
  }
  if (a == "accept" || a == "reject") {
    char* end = nullptr;
    const long long id = std::strtoll(options.id.c_str(), &end, 10);
    if (options.id.empty() || *end != '\0') {
      std::fprintf(stderr, "channelhub: expected a review id (a number, see customers reviews); got \"%s\"\n",
                   options.id.c_str());
      return 2;
    }
    Status st = s.DecideReview(id, a == "accept", actor, options.reason);
    if (st.ok()) std::printf("review %lld %s\n", id, a == "accept" ? "accepted" : "rejected");
    return done(st);
  }
  if (a == "merge") {
    auto r = s.Merge(options.into, options.from, actor, options.reason);
    if (!r.ok()) return done(r.status());
    std::printf("%s merged into %s\n", options.from.c_str(), r->c_str());
    return 0;
  }
  if (a == "unmerge") {
    auto r = s.Unmerge(options.record, actor, options.reason);
    if (!r.ok()) return done(r.status());
    std::printf("%s is now golden record %s\n", options.record.c_str(), r->c_str());
    return 0;
  }
  if (a == "erase") {
    auto e = s.Erase(options.id, actor, options.reason);
    if (!e.ok()) return done(e.status());
    journal::JournalOptions jo;
    jo.path = cfg.data_dir + "/journal.db";
    jo.keyring = cfg.data_protection.keyring;
    auto j = journal::Journal::Open(jo);
    if (!j.ok()) {
      std::fprintf(stderr, "channelhub: %s was erased from the master record, but the journal could not be opened: %s\n"
                           "run the same command again to erase the journal's payloads\n",
                   e->golden_id.c_str(), j.status().ToString().c_str());
      return 1;
    }
    auto n = (*j)->ErasePayloads(e->needles, actor, options.reason, e->golden_id);
    if (!n.ok()) return done(n.status());
    std::printf("%s erased: %zu source record(s) from the master record, %lld journal payload(s)\n", e->golden_id.c_str(),
                e->records.size(), static_cast<long long>(*n));
    return 0;
  }
  std::fprintf(stderr, "channelhub: customers needs one of show, search, history, reviews, accept, reject, merge, "
                       "unmerge, erase, audit\n");
  return 2;
}

}  // namespace channelhub::cli
