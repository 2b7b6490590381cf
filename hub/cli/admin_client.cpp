// `channelhub admin …`: the admin API from the command line, with the same tokens and roles as
// any other client (nothing here touches the data directory).
//
//   channelhub admin --config /etc/channelhub/hub.yaml status
//   CHANNELHUB_TOKEN=… channelhub admin --url https://10.0.0.5:8081 dlq replay destination=erp
//
// Words map to requests; "key=value" words become the JSON body of a POST (numbers and true/false
// typed) or the query of a GET.
#include "hub/cli/admin_client.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hub/config/config.hpp"
#include "hub/dispatch/http_client.hpp"

namespace channelhub::cli {
namespace {

struct ApiRequest {
  std::string method;
  std::string target;  // under the admin origin, e.g. /api/v1/status
  std::string body;
};

const char* kUsage =
    "usage: channelhub admin [--config FILE | --url URL] [--token-file FILE] COMMAND [ARGS] [key=value ...]\n"
    "  status | metrics | audit | events [limit=N] | trace SOURCE EVENT_ID\n"
    "  dlq [destination=D source=S] | dlq show ID | dlq replay id=N|destination=D|all=true\n"
    "  dlq drop id=N|destination=D|all=true reason=TEXT | resend destination=D since=RFC3339 [type=T]\n"
    "  customers name=…|phone=…|email=… | customers show ID | customers history ID | customers reviews\n"
    "  customers merge into=G1 from=G2 reason=TEXT | customers unmerge record=SYSTEM/ID reason=TEXT\n"
    "  customers erase id=G42 reason=TEXT | config check | config reload | log-level LEVEL\n"
    "  get PATH | post PATH [key=value ...]\n"
    "The token comes from --token-file or CHANNELHUB_TOKEN; the admin listener from --url, CHANNELHUB_ADMIN_URL\n"
    "or the configuration's admin.listen.\n";

std::string PercentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Splits "key=value" words from the positional ones.
void SplitWords(const std::vector<std::string>& words, std::vector<std::string>* positional,
                std::vector<std::pair<std::string, std::string>>* pairs) {
  for (const std::string& w : words) {
    const std::size_t eq = w.find('=');
    if (eq != std::string::npos && eq > 0) {
      pairs->emplace_back(w.substr(0, eq), w.substr(eq + 1));
    } else {
      positional->push_back(w);
    }
  }
}

std::string JsonBody(const std::vector<std::pair<std::string, std::string>>& pairs) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  for (const auto& [k, v] : pairs) {
    w.Key(k.c_str());
    const bool digits = !v.empty() && v.size() < 18 && v.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
      w.Int64(std::strtoll(v.c_str(), nullptr, 10));
    } else if (v == "true" || v == "false") {
      w.Bool(v == "true");
    } else {
      w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    }
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string q;
  for (const auto& [k, v] : pairs) q += (q.empty() ? "?" : "&") + PercentEncode(k) + "=" + PercentEncode(v);
  return q;
}

Result<ApiRequest> ToRequest(const std::vector<std::string>& words) {
  std::vector<std::string> pos;
  std::vector<std::pair<std::string, std::string>> kv;
  SplitWords(words, &pos, &kv);
  if (pos.empty()) return Status::Invalid("no command given");
  const std::string& cmd = pos[0];
  auto arg = [&pos](std::size_t i) { return i < pos.size() ? pos[i] : std::string(); };
  auto get = [&kv](std::string path) { return ApiRequest{"GET", "/api/v1/" + path + Query(kv), ""}; };
  auto post = [&kv](std::string path) { return ApiRequest{"POST", "/api/v1/" + path, JsonBody(kv)}; };
  auto need = [&](std::size_t n, const char* what) -> Status {
    return pos.size() > n ? Status::Ok() : Status::Invalid(cmd + " needs " + what);
  };
  if (cmd == "status" || cmd == "audit" || cmd == "events") return get(cmd);
  if (cmd == "metrics") return ApiRequest{"GET", "/metrics", ""};
  if (cmd == "trace") {
    CHUB_RETURN_IF_ERROR(need(2, "SOURCE and EVENT_ID"));
    return ApiRequest{"GET", "/api/v1/events/" + PercentEncode(pos[1]) + "/" + PercentEncode(pos[2]), ""};
  }
  if (cmd == "dlq") {
    const std::string sub = arg(1);
    if (sub.empty() || sub == "list") return get("dlq");
    if (sub == "show") {
      CHUB_RETURN_IF_ERROR(need(2, "the dead letter's id (dlq show 7)"));
      return ApiRequest{"GET", "/api/v1/dlq/" + PercentEncode(pos[2]), ""};
    }
    if (sub == "replay" || sub == "drop") return post("dlq/" + sub);
    return Status::Invalid("dlq " + sub + ": expected list, show, replay or drop");
  }
  if (cmd == "resend") return post("resend");
  if (cmd == "customers") {
    const std::string sub = arg(1);
    if (sub.empty() || sub == "search") return get("customers");
    if (sub == "reviews" || sub == "audit") return get("customers/" + sub);
    if (sub == "show" || sub == "history") {
      CHUB_RETURN_IF_ERROR(need(2, "an id (G42 or system/id)"));
      return ApiRequest{"GET", "/api/v1/customers/" + PercentEncode(pos[2]) + (sub == "history" ? "/history" : ""), ""};
    }
    if (sub == "merge" || sub == "unmerge" || sub == "erase") return post("customers/" + sub);
    if (sub == "accept" || sub == "reject") {
      CHUB_RETURN_IF_ERROR(need(2, "the review item's id"));
      return post("customers/reviews/" + PercentEncode(pos[2]) + "/" + sub);
    }
    return Status::Invalid("customers " + sub + ": expected search, show, history, reviews, audit, merge, unmerge, "
                           "erase, accept or reject");
  }
  if (cmd == "config") {
    const std::string sub = arg(1);
    if (sub == "check" || sub == "reload") return post("config/" + sub);
    return Status::Invalid("config " + sub + ": expected check or reload");
  }
  if (cmd == "log-level") {
    CHUB_RETURN_IF_ERROR(need(1, "a level (trace, debug, info, warn, error)"));
    return ApiRequest{"PUT", "/api/v1/log-level", JsonBody({{"level", pos[1]}})};
  }
  if (cmd == "get" || cmd == "post") {
    CHUB_RETURN_IF_ERROR(need(1, "a path like status or /api/v1/status"));
    std::string path = pos[1];
    if (!path.starts_with("/")) path = "/api/v1/" + path;
    if (cmd == "get") return ApiRequest{"GET", path + Query(kv), ""};
    return ApiRequest{"POST", path, JsonBody(kv)};
  }
  return Status::Invalid("unknown command \"" + cmd + "\"");
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The admin listener's base URL: --url, CHANNELHUB_ADMIN_URL, or the configuration's admin.listen.
Result<std::string> BaseUrl(const AdminClientOptions& o, config::OutboundTls* tls) {
  if (!o.url.empty()) return o.url;
  if (const char* env = std::getenv("CHANNELHUB_ADMIN_URL"); env && *env) return std::string(env);
  if (o.config_path.empty()) {
    return Status::Invalid("say where the admin API listens: --config FILE, --url http://127.0.0.1:8081 or "
                           "CHANNELHUB_ADMIN_URL");
  }
  config::LoadResult loaded = config::LoadConfig(o.config_path);
  if (!loaded.config) {
    std::string why;
    for (const auto& d : loaded.diagnostics) why += "\n  " + d.ToString();
    return Status::Invalid(o.config_path + " does not load:" + why);
  }
  const config::AdminSettings& a = loaded.config->admin;
  if (!a.enabled) return Status::Invalid(o.config_path + " has no admin: section: the admin API is off");
  std::string host = a.listen.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (a.tls.enabled() && tls) tls->ca = a.tls.cert;  // a self-signed admin certificate is trusted as itself
  return std::string(a.tls.enabled() ? "https://" : "http://") + host + ":" + std::to_string(a.listen.port);
}

}  // namespace

int AdminClient(const AdminClientOptions& o) {
  if (o.words.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto req = ToRequest(o.words);
  if (!req.ok()) {
    std::fprintf(stderr, "channelhub admin: %s\n%s", req.status().message().c_str(), kUsage);
    return 2;
  }
  config::OutboundTls tls;
  if (!o.ca.empty()) tls.ca = o.ca;
  auto base = BaseUrl(o, &tls);
  if (!base.ok()) {
    std::fprintf(stderr, "channelhub admin: %s\n", base.status().message().c_str());
    return 2;
  }
  std::string token;
  if (!o.token_file.empty()) {
    std::ifstream f(o.token_file);
    if (!f) {
      std::fprintf(stderr, "channelhub admin: cannot read the token file %s\n", o.token_file.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    token = Trim(ss.str());
  } else if (const char* env = std::getenv("CHANNELHUB_TOKEN"); env) {
    token = env;
  }
  if (token.empty() && req->target.starts_with("/api/")) {
    std::fprintf(stderr, "channelhub admin: no token: give --token-file FILE or set CHANNELHUB_TOKEN\n");
    return 2;
  }
  auto url = dispatch::Url::Parse(*base + req->target);
  if (!url.ok()) {
    std::fprintf(stderr, "channelhub admin: %s: %s\n", base->c_str(), url.status().message().c_str());
    return 2;
  }
  dispatch::HttpClient client(*url, tls);
  std::vector<std::pair<std::string, std::string>> headers = {{"Accept", "application/json"}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (!req->body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto res = client.Send(req->method, headers, req->body, std::chrono::milliseconds(o.timeout_ms));
  if (!res.ok()) {
    std::fprintf(stderr, "channelhub admin: %s %s: %s\n", req->method.c_str(), (*base + req->target).c_str(),
                 res.status().message().c_str());
    return 1;
  }
  // JSON is printed indented for people; anything else (metrics) as it came.
  std::string out = res->body;
  rapidjson::Document doc;
  doc.Parse(res->body.c_str(), res->body.size());
  if (!doc.HasParseError() && (doc.IsObject() || doc.IsArray())) {
    rapidjson::StringBuffer sb;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
    w.SetIndent(' ', 2);
    doc.Accept(w);
    out.assign(sb.GetString(), sb.GetSize());
  }
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  std::fputs(out.c_str(), res->status >= 200 && res->status < 300 ? stdout : stderr);
  if (res->status >= 200 && res->status < 300) return 0;
  if (res->status == 401 || res->status == 403) {
    std::fprintf(stderr, "channelhub admin: HTTP %d: the token is wrong or its role may not do this\n", res->status);
  }
  return 1;
}

}  // namespace channelhub::cli
