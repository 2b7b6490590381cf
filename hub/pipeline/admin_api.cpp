#include "hub/pipeline/admin_api.hpp"

#include "hub/common/log.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <iterator>

#include "hub/common/ids.hpp"
#include "hub/common/time.hpp"
#include "hub/master/store.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::pipeline {

using server::HttpRequest;
using server::HttpResponse;
using server::Reply;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

namespace {

constexpr std::string_view kPrefix = "/api/v1/";

std::string Time(int64_t ms) { return FormatRfc3339(UtcTime(std::chrono::milliseconds(ms))); }

// %XX and (in queries) '+' decoded; a malformed escape is kept as written.
std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = hex(in[i + 1]);
      const int lo = hex(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
  }
  return out;
}

std::string QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = part.find('=');
    if (part.substr(0, eq) == name) return std::string(eq == std::string_view::npos ? "" : part.substr(eq + 1));
  }
  return "";
}

void WriteLetter(Writer& w, const journal::DeadLetterRow& d) {
  w.Key("id");
  w.Int64(d.id);
  w.Key("stage");
  w.String(d.stage);
  w.Key("source");
  w.String(d.source);
  w.Key("destination");
  w.String(d.destination);
  w.Key("event_id");
  w.String(d.event_id);
  w.Key("reason");
  w.String(d.reason);
  w.Key("created_at");
  w.String(Time(d.created_at_ms));
}

std::string RoleName(config::AdminToken::Role r) {
  switch (r) {
    case config::AdminToken::Role::kViewer: return "viewer";
    case config::AdminToken::Role::kOperator: return "operator";
    case config::AdminToken::Role::kAdmin: return "admin";
  }
  return "viewer";
}

// The filter of a replay or drop body: {"id": N} or {"destination", "source", "stage"} or
// {"all": true}.
journal::DeadLetterFilter FilterOf(const rapidjson::Value& body) {
  journal::DeadLetterFilter f;
  if (body.HasMember("id") && body["id"].IsInt64()) f.id = body["id"].GetInt64();
  for (auto [key, out] : {std::pair{"destination", &f.destination}, {"source", &f.source}, {"stage", &f.stage}}) {
    if (body.HasMember(key) && body[key].IsString()) *out = body[key].GetString();
  }
  f.all = body.HasMember("all") && body["all"].IsBool() && body["all"].GetBool();
  return f;
}

}  // namespace

AdminApi::AdminApi(const config::Config& config, journal::Journal& journal, std::function<std::string()> status,
                   std::function<std::string()> metrics)
    : config_(config), journal_(journal), status_(std::move(status)), metrics_(std::move(metrics)) {}

const config::AdminToken* AdminApi::Authenticate(const HttpRequest& req) const {
  std::string_view h = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || h.substr(0, kBearer.size()) != kBearer) return nullptr;
  // Compared as hashes, in constant time, against every token (no early exit on a match).
  const std::string given = Sha256Hex(h.substr(kBearer.size()));
  const config::AdminToken* found = nullptr;
  for (const auto& t : config_.admin.tokens) {
    if (ConstantTimeEquals(given, t.sha256)) found = &t;
  }
  return found;
}

void AdminApi::Handle(HttpRequest&& req, Reply reply) {
  if (req.path == "/metrics" && (req.method == "GET" || req.method == "HEAD")) {
    std::string out = metrics_ ? metrics_() : "";
    auto reader = journal_.NewReader();
    if (reader.ok()) {
      if (auto stats = (*reader)->Stats(); stats.ok()) {
        auto gauge = [&out](const char* name, const char* help, int64_t v) {
          out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
                 std::to_string(v) + "\n";
        };
        gauge("channelhub_inbox_pending", "Journaled payloads not yet mapped.", stats->inbox_pending);
        gauge("channelhub_outbox_pending", "Events not yet delivered, all destinations.", stats->outbox_pending);
        gauge("channelhub_dead_letters", "Dead letters waiting for a replay or a drop.", stats->dead_letters);
      }
    }
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = std::move(out);
    return reply(std::move(r));
  }
  if (!req.path.starts_with(kPrefix)) {
    return reply(HttpResponse::Error(404, "not_found", "the admin API is under /api/v1/"));
  }
  const config::AdminToken* who = Authenticate(req);
  if (!who) {
    ++auth_failures_;
    auto r = HttpResponse::Error(401, "unauthorized", "an admin token is needed: Authorization: Bearer <token>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return reply(std::move(r));
  }
  const std::string path = req.path.substr(kPrefix.size());
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  auto needs = [&](config::AdminToken::Role role) {
    if (static_cast<int>(who->role) >= static_cast<int>(role)) return true;
    ++auth_failures_;
    reply(HttpResponse::Error(403, "forbidden", "this needs the " + RoleName(role) + " role"));
    return false;
  };
  const std::string actor = "api:" + who->name;
  rapidjson::StringBuffer sb;
  Writer w(sb);
  auto reader = journal_.NewReader();
  if (!reader.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", reader.status().message()));

  if (get && path == "status") {
    auto stats = (*reader)->Stats();
    if (!stats.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", stats.status().message()));
    w.StartObject();
    w.Key("inbox_total");
    w.Int64(stats->inbox_total);
    w.Key("inbox_pending");
    w.Int64(stats->inbox_pending);
    w.Key("outbox_pending");
    w.Int64(stats->outbox_pending);
    w.Key("outbox_delivered");
    w.Int64(stats->outbox_delivered);
    w.Key("dead_letters");
    w.Int64(stats->dead_letters);
    w.Key("hub");
    const std::string extra = status_ ? status_() : "{}";
    w.RawValue(extra.data(), extra.size(), rapidjson::kObjectType);
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (get && path == "dlq") {
    std::size_t limit = 100;
    if (std::string l = QueryParam(req.query, "limit"); !l.empty()) std::from_chars(l.data(), l.data() + l.size(), limit);
    auto rows = (*reader)->DeadLetters(std::min<std::size_t>(limit, 10000));
    if (!rows.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", rows.status().message()));
    const std::string dest = QueryParam(req.query, "destination");
    const std::string source = QueryParam(req.query, "source");
    w.StartObject();
    w.Key("dead_letters");
    w.StartArray();
    for (const auto& d : *rows) {
      if ((!dest.empty() && d.destination != dest) || (!source.empty() && d.source != source)) continue;
      w.StartObject();
      WriteLetter(w, d);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (get && path.starts_with("dlq/")) {
    int64_t id = 0;
    const std::string n = path.substr(4);
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), id);
    if (ec != std::errc() || end != n.data() + n.size()) {
      return reply(HttpResponse::Error(400, "bad_id", "expected /api/v1/dlq/<number>"));
    }
    auto d = (*reader)->DeadLetter(id);
    if (!d.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", d.status().message()));
    if (!*d) return reply(HttpResponse::Error(404, "not_found", "no dead letter " + n + " (replayed or dropped?)"));
    w.StartObject();
    WriteLetter(w, (*d)->letter);
    w.Key("attempts");
    w.StartArray();
    for (const auto& a : (*d)->attempts) {
      w.StartObject();
      w.Key("at");
      w.String(Time(a.at_ms));
      w.Key("error");
      w.String(a.error);
      w.EndObject();
    }
    w.EndArray();
    w.Key("payload");
    w.String((*d)->letter.payload);
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (get && path == "events") {
    std::size_t limit = 50;
    if (std::string l = QueryParam(req.query, "limit"); !l.empty()) std::from_chars(l.data(), l.data() + l.size(), limit);
    auto rows = (*reader)->Recent(std::min<std::size_t>(limit, 1000));
    if (!rows.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", rows.status().message()));
    w.StartObject();
    w.Key("events");
    w.StartArray();
    for (const auto& t : *rows) {
      w.StartObject();
      w.Key("source");
      w.String(t.source);
      w.Key("event_id");
      w.String(t.event_id);
      w.Key("kind");
      w.String(t.kind);
      w.Key("received_at");
      w.String(Time(t.received_at_ms));
      w.Key("trace_id");
      w.String(TraceIdFor(t.source, t.event_id));
      w.Key("processed");
      w.Bool(t.processed);
      // Its path through the hub: each canonical event's destinations and where it stands.
      if (auto full = (*reader)->Trace(t.source, t.event_id); full.ok() && *full) {
        w.Key("path");
        w.StartArray();
        for (const auto& d : (*full)->deliveries) {
          if (d.destination.empty()) continue;
          const bool to_master = d.destination == config_.master_destination;
          w.String(d.cloud_event_id + " -> " + d.destination + ": " +
                   (d.state == 1 ? (to_master ? "matched" : "delivered")
                    : d.state == 2 ? "dead_letter"
                                   : "pending (" + std::to_string(d.attempts) + " attempts)"));
        }
        for (const auto& dl : (*full)->dead_letters) w.String("dead letter: " + dl);
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (get && path.starts_with("events/")) {
    const std::string rest = path.substr(7);
    const std::size_t slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
      return reply(HttpResponse::Error(400, "bad_path", "expected /api/v1/events/<source>/<event id>"));
    }
    auto t = (*reader)->Trace(rest.substr(0, slash), rest.substr(slash + 1));
    if (!t.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", t.status().message()));
    if (!*t) return reply(HttpResponse::Error(404, "not_found", "no event " + rest.substr(slash + 1) + " from " + rest.substr(0, slash)));
    const journal::TraceRow& tr = **t;
    w.StartObject();
    w.Key("source");
    w.String(tr.source);
    w.Key("event_id");
    w.String(tr.event_id);
    w.Key("trace_id");
    w.String(TraceIdFor(tr.source, tr.event_id));
    w.Key("kind");
    w.String(tr.kind);
    w.Key("received_at");
    w.String(Time(tr.received_at_ms));
    w.Key("processed");
    w.Bool(tr.processed);
    w.Key("events");
    w.StartArray();
    for (const auto& d : tr.deliveries) {
      w.StartObject();
      w.Key("id");
      w.String(d.cloud_event_id);
      w.Key("type");
      w.String(d.type);
      w.Key("mapped_after_ms");
      w.Int64(d.mapped_at_ms - tr.received_at_ms);
      if (!d.destination.empty()) {
        const bool to_master = d.destination == config_.master_destination;
        w.Key("destination");
        w.String(d.destination);
        w.Key("state");
        w.String(d.state == 1 ? (to_master ? "matched" : "delivered") : d.state == 2 ? "dead_letter" : "pending");
        w.Key("attempts");
        w.Int64(d.attempts);
        if (d.state == 1 && d.delivered_at_ms > 0) {
          // For the master record the delivery is the match: the golden record it joined.
          w.Key(to_master ? "matched_after_ms" : "delivered_after_ms");
          w.Int64(d.delivered_at_ms - tr.received_at_ms);
          if (to_master && master_ && d.subject.starts_with("customer/")) {
            if (auto golden = master_->Resolve(d.subject.substr(9)); golden.ok()) {
              w.Key("golden_id");
              w.String(*golden);
            }
          }
        }
        if (d.state == 0 && d.next_attempt_at_ms > 0) {
          w.Key("next_attempt_at");
          w.String(Time(d.next_attempt_at_ms));
        }
        if (!d.last_error.empty()) {
          w.Key("last_error");
          w.String(d.last_error);
        }
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("dead_letters");
    w.StartArray();
    for (const auto& dl : tr.dead_letters) w.String(dl);
    w.EndArray();
    w.Key("replays");
    w.StartArray();
    for (const auto& id : tr.replays) w.String(id);
    w.EndArray();
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (get && path == "audit") {
    auto rows = (*reader)->Audit(200);
    if (!rows.ok()) return reply(HttpResponse::Error(503, "journal_unavailable", rows.status().message()));
    w.StartObject();
    w.Key("audit");
    w.StartArray();
    for (const auto& a : *rows) {
      w.StartObject();
      w.Key("at");
      w.String(Time(a.at_ms));
      w.Key("actor");
      w.String(a.actor);
      w.Key("action");
      w.String(a.action);
      w.Key("target");
      w.String(a.target);
      w.Key("detail");
      w.String(a.detail);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if ((post || req.method == "PUT") && path == "log-level") {
    if (!needs(config::AdminToken::Role::kAdmin)) return;
    rapidjson::Document body;
    const char* levels[] = {"trace", "debug", "info", "warn", "error"};
    std::string level;
    if (!body.Parse(req.body.data(), req.body.size()).HasParseError() && body.IsObject() && body.HasMember("level") &&
        body["level"].IsString()) {
      level = body["level"].GetString();
    }
    if (std::find(std::begin(levels), std::end(levels), level) == std::end(levels)) {
      return reply(HttpResponse::Error(400, "bad_level", "expected {\"level\": \"trace|debug|info|warn|error\"}"));
    }
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::info("admin API: log level set to {} by {}", level, actor);
    (void)journal_.SaveState("log_level", level, 0);  // seen in the journal; the config file still rules at start
    w.StartObject();
    w.Key("level");
    w.String(level);
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (post && (path == "dlq/replay" || path == "dlq/drop" || path == "resend")) {
    rapidjson::Document body;
    if (body.Parse(req.body.data(), req.body.size()).HasParseError() || !body.IsObject()) {
      return reply(HttpResponse::Error(400, "malformed_body", "expected a JSON object"));
    }
    Result<int64_t> n = Status::Internal("no operation ran");
    if (path == "dlq/replay") {
      if (!needs(config::AdminToken::Role::kOperator)) return;
      n = journal_.ReplayDeadLetters(FilterOf(body), actor);
    } else if (path == "dlq/drop") {
      if (!needs(config::AdminToken::Role::kAdmin)) return;
      const std::string reason = body.HasMember("reason") && body["reason"].IsString() ? body["reason"].GetString() : "";
      n = journal_.DropDeadLetters(FilterOf(body), actor, reason);
    } else {
      if (!needs(config::AdminToken::Role::kOperator)) return;
      journal::Journal::ResendFilter f;
      const std::string dest = body.HasMember("destination") && body["destination"].IsString() ? body["destination"].GetString() : "";
      if (!config_.destinations.count(dest)) {
        return reply(HttpResponse::Error(400, "unknown_destination", "no destination \"" + dest + "\""));
      }
      for (auto [key, out] : {std::pair{"since", &f.since_ms}, {"until", &f.until_ms}}) {
        if (!body.HasMember(key)) continue;
        auto t = body[key].IsString() ? ParseRfc3339(body[key].GetString()) : Result<UtcTime>(Status::Invalid(""));
        if (!t.ok()) return reply(HttpResponse::Error(400, "bad_time", std::string(key) + ": expected an RFC 3339 time"));
        *out = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
      }
      if (body.HasMember("events") && body["events"].IsArray()) {
        for (const auto& e : body["events"].GetArray()) {
          if (e.IsString()) f.event_ids.emplace_back(e.GetString());
        }
      }
      if (body.HasMember("type") && body["type"].IsString()) {
        const std::string type = body["type"].GetString();
        f.type_prefix = "com.channelhub." + type + (type.find('.') == std::string::npos ? "." : "");
      }
      if (body.HasMember("source") && body["source"].IsString()) f.source = body["source"].GetString();
      n = journal_.Resend(dest, f, actor);
    }
    if (!n.ok()) {
      const bool bad = n.status().code() == StatusCode::kInvalidArgument;
      return reply(HttpResponse::Error(bad ? 400 : 503, bad ? "bad_request" : "failed", n.status().message()));
    }
    spdlog::info("admin API: {} by {}: {} affected", path, actor, *n);
    w.StartObject();
    w.Key(path == "resend" ? "queued" : path == "dlq/drop" ? "dropped" : "replayed");
    w.Int64(*n);
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (path == "customers" || path.starts_with("customers/")) return HandleCustomers(req, path, *who, reply);
  if (post && path == "config/check") {
    if (!needs(config::AdminToken::Role::kOperator)) return;
    if (!check_) return reply(HttpResponse::Error(503, "no_check", "this hub cannot check its configuration"));
    const std::vector<std::string> problems = check_();
    w.StartObject();
    w.Key("ok");
    w.Bool(problems.empty());
    w.Key("file");
    w.String(config_.file);
    w.Key("problems");
    w.StartArray();
    for (const auto& p : problems) w.String(p);
    w.EndArray();
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (post && path == "config/reload") {
    if (!needs(config::AdminToken::Role::kAdmin)) return;
    if (!reload_) return reply(HttpResponse::Error(503, "no_reload", "this hub cannot reload its configuration"));
    spdlog::info("admin API: configuration reload requested by {}", actor);
    const std::string problem = reload_();
    if (!problem.empty()) {
      return reply(HttpResponse::Error(400, "config_refused", problem + " (the running configuration stays)"));
    }
    w.StartObject();
    w.Key("reloaded");
    w.Bool(true);
    w.EndObject();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  reply(HttpResponse::Error(404, "not_found",
                            "no " + req.method + " /api/v1/" + path +
                                "; see GET status, events, events/<source>/<id>, dlq, dlq/<id>, audit, customers; POST dlq/replay, dlq/drop, "
                                "resend, customers/merge, customers/unmerge, config/check, config/reload"));
}

void AdminApi::HandleCustomers(const HttpRequest& req, const std::string& path, const config::AdminToken& who,
                               Reply& reply) {
  if (!master_) {
    return reply(HttpResponse::Error(404, "no_master_record",
                                     "the master customer record is not configured (add a destination of type master)"));
  }
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  const std::string actor = "api:" + who.name;
  auto fail = [&](const Status& st) {
    switch (st.code()) {
      case StatusCode::kNotFound: return reply(HttpResponse::Error(404, "not_found", st.message()));
      case StatusCode::kInvalidArgument: return reply(HttpResponse::Error(400, "bad_request", st.message()));
      default: return reply(HttpResponse::Error(503, "master_unavailable", st.message()));
    }
  };
  auto json = [&](Result<std::string> r) {
    if (!r.ok()) return fail(r.status());
    reply(HttpResponse::Json(200, *r));
  };
  auto operator_role = [&] {
    if (static_cast<int>(who.role) >= static_cast<int>(config::AdminToken::Role::kOperator)) return true;
    ++auth_failures_;
    reply(HttpResponse::Error(403, "forbidden", "this needs the operator role"));
    return false;
  };
  auto body_string = [](const rapidjson::Document& b, const char* key) {
    return b.IsObject() && b.HasMember(key) && b[key].IsString() ? std::string(b[key].GetString()) : std::string();
  };
  const std::string rest = path == "customers" ? "" : PercentDecode(path.substr(10), false);
  if (get && rest.empty()) {
    master::SearchQuery q;
    q.phone = PercentDecode(QueryParam(req.query, "phone"), true);
    q.email = PercentDecode(QueryParam(req.query, "email"), true);
    q.name = PercentDecode(QueryParam(req.query, "name"), true);
    q.credit_code = PercentDecode(QueryParam(req.query, "credit_code"), true);
    q.source = PercentDecode(QueryParam(req.query, "source"), true);
    if (std::string l = QueryParam(req.query, "limit"); !l.empty()) std::from_chars(l.data(), l.data() + l.size(), q.limit);
    q.limit = std::min<std::size_t>(q.limit, 1000);
    return json(master_->Search(q));
  }
  if (get && rest == "audit") return json(master_->Audit(1000));
  if (get && rest == "reviews") {
    std::string state = QueryParam(req.query, "state");
    if (state.empty()) state = "open";
    if (state == "all") state = "";
    auto items = master_->Reviews(state, 1000);
    if (!items.ok()) return fail(items.status());
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartArray();
    for (const auto& r : *items) {
      w.StartObject();
      w.Key("id");
      w.Int64(r.id);
      w.Key("state");
      w.String(r.state);
      w.Key("score");
      w.Double(r.score);
      w.Key("record");
      w.String(r.record);
      w.Key("record_golden");
      w.String(r.record_golden);
      w.Key("candidate");
      w.String(r.candidate);
      w.Key("candidate_golden");
      w.String(r.candidate_golden);
      w.Key("terms");
      w.RawValue(r.terms_json.data(), r.terms_json.size(), rapidjson::kArrayType);
      w.Key("created_at");
      w.String(Time(r.created_ms));
      if (r.decided_ms) {
        w.Key("decided_at");
        w.String(Time(r.decided_ms));
        w.Key("actor");
        w.String(r.actor);
        w.Key("note");
        w.String(r.note);
      }
      w.EndObject();
    }
    w.EndArray();
    return reply(HttpResponse::Json(200, sb.GetString()));
  }
  if (get && rest.ends_with("/history")) return json(master_->History(rest.substr(0, rest.size() - 8)));
  if (get) return json(master_->View(rest));
  if (post) {
    if (!operator_role()) return;
    rapidjson::Document body;
    if (body.Parse(req.body.data(), req.body.size()).HasParseError() || !body.IsObject()) {
      return reply(HttpResponse::Error(400, "malformed_body", "expected a JSON object"));
    }
    const std::string reason = body_string(body, "reason");
    rapidjson::StringBuffer sb;
    Writer w(sb);
    if (rest == "merge") {
      const std::string into = body_string(body, "into"), from = body_string(body, "from");
      if (into.empty() || from.empty()) {
        return reply(HttpResponse::Error(400, "bad_request", "expected {\"into\": \"G1\", \"from\": \"G2\", \"reason\": \"...\"}"));
      }
      auto r = master_->Merge(into, from, actor, reason);
      if (!r.ok()) return fail(r.status());
      spdlog::info("admin API: customers merge {} into {} by {}", from, into, actor);
      w.StartObject();
      w.Key("id");
      w.String(*r);
      w.EndObject();
      return reply(HttpResponse::Json(200, sb.GetString()));
    }
    if (rest == "unmerge") {
      const std::string record = body_string(body, "record");
      if (record.empty()) {
        return reply(HttpResponse::Error(400, "bad_request", "expected {\"record\": \"system/id\", \"reason\": \"...\"}"));
      }
      auto r = master_->Unmerge(record, actor, reason);
      if (!r.ok()) return fail(r.status());
      spdlog::info("admin API: customers unmerge {} by {} -> {}", record, actor, *r);
      w.StartObject();
      w.Key("id");
      w.String(*r);
      w.EndObject();
      return reply(HttpResponse::Json(200, sb.GetString()));
    }
    if (rest == "erase") {
      if (static_cast<int>(who.role) < static_cast<int>(config::AdminToken::Role::kAdmin)) {
        ++auth_failures_;
        return reply(HttpResponse::Error(403, "forbidden", "this needs the admin role"));
      }
      const std::string id = body_string(body, "id");
      if (id.empty() || reason.empty()) {
        return reply(HttpResponse::Error(400, "bad_request", "expected {\"id\": \"G42\", \"reason\": \"the request's reference\"}"));
      }
      auto e = master_->Erase(id, actor, reason);
      if (!e.ok()) return fail(e.status());
      auto n = journal_.ErasePayloads(e->needles, actor, reason, e->golden_id);
      if (!n.ok()) return fail(n.status());
      spdlog::info("admin API: customer {} erased on request by {}", e->golden_id, actor);
      w.StartObject();
      w.Key("id");
      w.String(e->golden_id);
      w.Key("records");
      w.Int64(static_cast<int64_t>(e->records.size()));
      w.Key("journal_payloads");
      w.Int64(*n);
      w.EndObject();
      return reply(HttpResponse::Json(200, sb.GetString()));
    }
    if (rest.starts_with("reviews/") && (rest.ends_with("/accept") || rest.ends_with("/reject"))) {
      const std::string id_text = rest.substr(8, rest.rfind('/') - 8);
      int64_t id = 0;
      auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
      if (ec != std::errc() || end != id_text.data() + id_text.size()) {
        return reply(HttpResponse::Error(400, "bad_path", "expected /api/v1/customers/reviews/<number>/accept or /reject"));
      }
      const bool accept = rest.ends_with("/accept");
      Status st = master_->DecideReview(id, accept, actor, reason);
      if (!st.ok()) return fail(st);
      w.StartObject();
      w.Key("review");
      w.Int64(id);
      w.Key("state");
      w.String(accept ? "accepted" : "rejected");
      w.EndObject();
      return reply(HttpResponse::Json(200, sb.GetString()));
    }
  }
  reply(HttpResponse::Error(404, "not_found",
                            "no " + req.method + " /api/v1/" + path +
                                "; see GET customers?phone=..., customers/<id>, customers/<id>/history, customers/reviews, "
                                "customers/audit; POST customers/merge, customers/unmerge, customers/reviews/<id>/accept|reject"));
}

}  // namespace channelhub::pipeline
