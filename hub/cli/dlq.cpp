// `channelhub dlq list|show|replay|drop|audit`: the dead letters, read and changed in the
// journal directly (the hub may be running: SQLite serialises the writers, and the hub's
// dispatcher and processor pick replayed rows up at their next look).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <tuple>
#include <variant>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "hub/cli/serve.hpp"
#include "hub/common/time.hpp"
#include "hub/journal/journal.hpp"

namespace channelhub::cli {
namespace {

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string("cli:") + (user && *user ? user : "unknown") + "@" + (host[0] ? host : "localhost");
}

std::string Time(int64_t ms) { return FormatRfc3339(UtcTime(std::chrono::milliseconds(ms))); }

void PrintLetter(const journal::DeadLetterRow& d, bool payload, const std::vector<journal::AttemptRow>* attempts) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
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
  if (attempts) {
    w.Key("attempts");
    w.StartArray();
    for (const auto& a : *attempts) {
      w.StartObject();
      w.Key("at");
      w.String(Time(a.at_ms));
      w.Key("error");
      w.String(a.error);
      w.EndObject();
    }
    w.EndArray();
  }
  if (payload) {
    w.Key("payload");
    w.String(d.payload);
  }
  w.EndObject();
  std::printf("%s\n", sb.GetString());
}

// The journal of the configuration's data_dir, or the exit code after printing why not.
std::variant<std::unique_ptr<journal::Journal>, int> OpenJournal(const std::string& config_path,
                                                                 const std::optional<std::string>& data_dir,
                                                                 config::Config* config) {
  std::optional<config::Config> loaded = LoadForCommand(config_path, data_dir);
  if (!loaded) return 2;
  journal::JournalOptions jo;
  jo.path = (std::filesystem::path(loaded->data_dir) / "journal.db").string();
  jo.keyring = loaded->data_protection.keyring;
  if (!std::filesystem::exists(jo.path)) {
    std::fprintf(stderr, "channelhub: no journal at %s (has the hub run with this data_dir?)\n", jo.path.c_str());
    return 1;
  }
  auto journal = journal::Journal::Open(jo);
  if (!journal.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", journal.status().ToString().c_str());
    return 1;
  }
  if (config) *config = std::move(*loaded);
  return std::move(journal).value();
}

struct CloseJournal {
  journal::Journal& j;
  ~CloseJournal() { j.Shutdown(); }
};

}  // namespace

int Resend(const ResendOptions& options) {
  config::Config cfg;
  auto opened = OpenJournal(options.config_path, options.data_dir, &cfg);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  auto& journal = std::get<std::unique_ptr<journal::Journal>>(opened);
  CloseJournal close{*journal};
  if (!cfg.destinations.count(options.destination)) {
    std::string known;
    for (const auto& [name, d] : cfg.destinations) known += (known.empty() ? "" : ", ") + name;
    std::fprintf(stderr, "channelhub: no destination \"%s\" in %s (configured: %s)\n", options.destination.c_str(),
                 options.config_path.c_str(), known.c_str());
    return 2;
  }
  journal::Journal::ResendFilter f;
  for (auto [text, out, name] : {std::tuple{&options.since, &f.since_ms, "--since"}, {&options.until, &f.until_ms, "--until"}}) {
    if (text->empty()) continue;
    auto t = ParseRfc3339(*text);
    if (!t.ok()) {
      std::fprintf(stderr, "channelhub: %s: expected a time like 2025-11-20T08:00:00+08:00, got \"%s\"\n", name,
                   text->c_str());
      return 2;
    }
    *out = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  }
  f.event_ids = options.event_ids;
  if (!options.type.empty()) {
    f.type_prefix = "com.channelhub." + options.type + (options.type.find('.') == std::string::npos ? "." : "");
  }
  f.source = options.source;
  auto n = journal->Resend(options.destination, f, options.actor.empty() ? DefaultActor() : options.actor);
  if (!n.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", n.status().message().c_str());
    return n.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("queued %lld event%s for %s again\n", static_cast<long long>(*n), *n == 1 ? "" : "s",
              options.destination.c_str());
  return 0;
}

int Trace(const TraceOptions& options) {
  auto opened = OpenJournal(options.config_path, options.data_dir, nullptr);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  auto& journal = std::get<std::unique_ptr<journal::Journal>>(opened);
  CloseJournal close{*journal};
  auto reader = journal->NewReader();
  if (!reader.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", reader.status().ToString().c_str());
    return 1;
  }
  if (options.event_id.empty()) {
    auto rows = (*reader)->Recent(options.limit);
    if (!rows.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", rows.status().ToString().c_str());
      return 1;
    }
    for (const auto& t : *rows) {
      if (!options.source.empty() && t.source != options.source) continue;
      std::printf("%s  %s/%s  %s%s\n", Time(t.received_at_ms).c_str(), t.source.c_str(), t.event_id.c_str(),
                  t.kind.c_str(), t.processed ? "" : "  (not mapped yet)");
    }
    return 0;
  }
  if (options.source.empty()) {
    std::fprintf(stderr, "channelhub: trace --event needs --source (event ids are unique per source)\n");
    return 2;
  }
  auto t = (*reader)->Trace(options.source, options.event_id);
  if (!t.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", t.status().ToString().c_str());
    return 1;
  }
  if (!*t) {
    std::fprintf(stderr, "channelhub: no event %s from source %s\n", options.event_id.c_str(), options.source.c_str());
    return 1;
  }
  const journal::TraceRow& tr = **t;
  std::printf("%s/%s%s%s\n  received   %s\n", tr.source.c_str(), tr.event_id.c_str(), tr.kind.empty() ? "" : "  kind ",
              tr.kind.c_str(), Time(tr.received_at_ms).c_str());
  if (!tr.processed) std::printf("  not mapped yet\n");
  std::string last;
  for (const auto& d : tr.deliveries) {
    if (d.cloud_event_id != last) {
      std::printf("  mapped     +%lld ms  %s  %s\n", static_cast<long long>(d.mapped_at_ms - tr.received_at_ms),
                  d.cloud_event_id.c_str(), d.type.c_str());
      last = d.cloud_event_id;
    }
    if (d.destination.empty()) {
      std::printf("    routed nowhere\n");
    } else if (d.state == 1) {
      std::printf("    -> %s  delivered +%lld ms (%lld attempt%s)\n", d.destination.c_str(),
                  static_cast<long long>(d.delivered_at_ms - tr.received_at_ms), static_cast<long long>(d.attempts),
                  d.attempts == 1 ? "" : "s");
    } else if (d.state == 2) {
      std::printf("    -> %s  dead letter after %lld attempt%s: %s\n", d.destination.c_str(),
                  static_cast<long long>(d.attempts), d.attempts == 1 ? "" : "s", d.last_error.c_str());
    } else {
      std::printf("    -> %s  pending (%lld attempt%s%s%s)\n", d.destination.c_str(), static_cast<long long>(d.attempts),
                  d.attempts == 1 ? "" : "s", d.last_error.empty() ? "" : "; last: ", d.last_error.c_str());
    }
  }
  for (const auto& dl : tr.dead_letters) std::printf("  dead letter: %s\n", dl.c_str());
  for (const auto& id : tr.replays) {
    std::printf("  replayed as %s (channelhub trace --source %s --event %s)\n", id.c_str(), tr.source.c_str(),
                id.c_str());
  }
  return 0;
}

int DeadLetters(const DlqOptions& options) {
  auto opened = OpenJournal(options.config_path, options.data_dir, nullptr);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  auto& journal_ptr = std::get<std::unique_ptr<journal::Journal>>(opened);
  auto* journal = &journal_ptr;
  CloseJournal close{*journal_ptr};
  auto reader = (*journal)->NewReader();
  if (!reader.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", reader.status().ToString().c_str());
    return 1;
  }
  journal::DeadLetterFilter filter;
  filter.id = options.id;
  filter.destination = options.destination;
  filter.source = options.source;
  filter.stage = options.stage;
  filter.all = options.all;
  const std::string actor = options.actor.empty() ? DefaultActor() : options.actor;

  if (options.action == "show") {
    if (!options.id) {
      std::fprintf(stderr, "channelhub: dlq show needs --id N (the id from dlq list)\n");
      return 2;
    }
    auto d = (*reader)->DeadLetter(*options.id);
    if (!d.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", d.status().ToString().c_str());
      return 1;
    }
    if (!*d) {
      std::fprintf(stderr, "channelhub: no dead letter %lld (replayed or dropped already? see dlq audit)\n",
                   static_cast<long long>(*options.id));
      return 1;
    }
    PrintLetter((*d)->letter, true, &(*d)->attempts);
    return 0;
  }
  if (options.action == "replay" || options.action == "drop") {
    if (filter.empty()) {
      std::fprintf(stderr,
                   "channelhub: dlq %s needs --id N, --destination NAME, --source NAME, --stage STAGE, or --all\n",
                   options.action.c_str());
      return 2;
    }
    auto n = options.action == "replay" ? (*journal)->ReplayDeadLetters(filter, actor)
                                        : (*journal)->DropDeadLetters(filter, actor, options.reason);
    if (!n.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", n.status().message().c_str());
      return n.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    std::printf("%s %lld dead letter%s (audited as %s)\n", options.action == "replay" ? "replayed" : "dropped",
                static_cast<long long>(*n), *n == 1 ? "" : "s", actor.c_str());
    return 0;
  }
  if (options.action == "audit") {
    auto rows = (*reader)->Audit(options.limit);
    if (!rows.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", rows.status().ToString().c_str());
      return 1;
    }
    for (const auto& a : *rows) {
      std::printf("%s %s %s: %s (%s)\n", Time(a.at_ms).c_str(), a.actor.c_str(), a.action.c_str(), a.target.c_str(),
                  a.detail.c_str());
    }
    return 0;
  }
  auto rows = (*reader)->DeadLetters(options.limit);
  if (!rows.ok()) {
    std::fprintf(stderr, "channelhub: %s\n", rows.status().ToString().c_str());
    return 1;
  }
  for (const auto& d : *rows) {
    if (!filter.destination.empty() && d.destination != filter.destination) continue;
    if (!filter.source.empty() && d.source != filter.source) continue;
    if (!filter.stage.empty() && d.stage != filter.stage) continue;
    PrintLetter(d, options.with_payload, nullptr);
  }
  return 0;
}

}  // namespace channelhub::cli
