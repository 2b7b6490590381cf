// plugin::Instance's operations on an out-of-process connector: each one a CALL over the
// RemoteLink, its JSON shaped like the C ABI's structs (plugins/REMOTE.md). A body that is valid
// UTF-8 travels as "body", anything else as "body_b64"; either is accepted back.
#include <spdlog/spdlog.h>

#include "hub/common/ids.hpp"
#include "hub/common/json.hpp"
#include "hub/common/xml_limits.hpp"  // IsValidUtf8
#include "hub/plugin/plugin_host.hpp"
#include "hub/plugin/remote.hpp"

namespace channelhub::plugin {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;


void Str(Writer& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void Body(Writer& w, std::string_view body) {
  if (xml::IsValidUtf8(body)) {
    Str(w, "body", body);
  } else {
    Str(w, "body_b64", Base64Encode(body));
  }
}

void Headers(Writer& w, const HeaderList& headers) {
  w.Key("headers");
  w.StartArray();
  for (const auto& [k, v] : headers) {
    w.StartArray();
    w.String(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    if (xml::IsValidUtf8(v)) {
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    } else {
      w.String("");  // a header value that is not text cannot travel as JSON
    }
    w.EndArray();
  }
  w.EndArray();
}

void WriteDelivery(Writer& w, const Delivery& d) {
  w.Key("delivery");
  w.StartObject();
  Str(w, "event_id", d.event_id);
  Str(w, "event_type", d.event_type);
  Str(w, "subject", d.subject);
  Str(w, "content_type", d.content_type);
  Body(w, d.body);
  w.Key("attempt");
  w.Int(d.attempt);
  Str(w, "token", d.token);
  Str(w, "step", d.step);
  w.EndObject();
}

void WriteResponse(Writer& w, const HttpReply& r) {
  w.Key("response");
  w.StartObject();
  w.Key("status");
  w.Int(r.status);
  Headers(w, r.headers);
  Body(w, r.body);
  w.EndObject();
}

std::string Done(rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

// Reads an answer's member as a string; "" when absent or not a string.
std::string Text(const rapidjson::Value& o, const char* key) {
  if (!o.IsObject()) return {};
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

Result<std::string> ReadBody(const rapidjson::Value& o, const std::string& where) {
  if (o.HasMember("body_b64")) {
    auto b = Base64Decode(Text(o, "body_b64"));
    if (!b.ok()) return Status::Invalid(where + ".body_b64 is not Base64");
    return b;
  }
  return Text(o, "body");
}

Result<HeaderList> ReadHeaders(const rapidjson::Value& o, const std::string& where) {
  HeaderList out;
  if (!o.HasMember("headers")) return out;
  const auto& h = o["headers"];
  if (h.IsObject()) {
    for (const auto& m : h.GetObject()) {
      if (!m.value.IsString()) return Status::Invalid(where + ".headers values must be strings");
      out.emplace_back(m.name.GetString(), m.value.GetString());
    }
    return out;
  }
  if (!h.IsArray()) return Status::Invalid(where + ".headers must be a list of [name, value] pairs");
  for (const auto& pair : h.GetArray()) {
    if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsString()) {
      return Status::Invalid(where + ".headers must be a list of [name, value] pairs");
    }
    out.emplace_back(pair[0].GetString(), pair[1].GetString());
  }
  return out;
}

Result<OutRequest> ReadRequest(const rapidjson::Document& doc, const std::string& owner, const char* what) {
  if (doc.HasMember("fail")) return Status::Invalid(owner + ": " + Text(doc, "fail"));
  if (!doc.HasMember("request") || !doc["request"].IsObject()) {
    return Status::Internal(owner + ": the connector built no " + std::string(what) + " request");
  }
  const auto& r = doc["request"];
  OutRequest out;
  out.method = Text(r, "method");
  if (out.method.empty()) out.method = "POST";
  out.target = Text(r, "target");
  auto headers = ReadHeaders(r, "request");
  if (!headers.ok()) return headers.status().Prepend(owner + ": ");
  out.headers = std::move(headers).value();
  auto body = ReadBody(r, "request");
  if (!body.ok()) return body.status().Prepend(owner + ": ");
  out.body = std::move(body).value();
  return out;
}

Result<std::vector<Payload>> ReadPayloads(const rapidjson::Document& doc) {
  std::vector<Payload> out;
  if (!doc.HasMember("payloads")) return out;
  if (!doc["payloads"].IsArray()) return Status::Invalid("payloads must be a list");
  std::size_t i = 0;
  for (const auto& p : doc["payloads"].GetArray()) {
    const std::string where = "payloads[" + std::to_string(i++) + "]";
    if (!p.IsObject()) return Status::Invalid(where + " must be an object");
    auto body = ReadBody(p, where);
    if (!body.ok()) return body.status();
    out.push_back(Payload{Text(p, "event_id"), Text(p, "kind"), Text(p, "content_type"), std::move(body).value()});
  }
  return out;
}

Verdict VerdictNamed(const std::string& v, bool* known) {
  *known = true;
  if (v == "done") return Verdict::kDone;
  if (v == "retry") return Verdict::kRetry;
  if (v == "permanent") return Verdict::kPermanent;
  if (v == "token_expired") return Verdict::kTokenExpired;
  if (v == "next") return Verdict::kNext;
  *known = false;
  return Verdict::kRetry;
}

}  // namespace

Result<std::string> Instance::RemoteCall(const char* op, const std::string& request) {
  if (!remote_) {
    return Status::Unavailable(owner_ + ": out-of-process connector " + info_.name +
                               " is only reached by a running hub (channelhub serve)");
  }
  // The instance and its settings go with every call.
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  Str(w, "instance", owner_);
  w.Key("settings");
  w.StartObject();
  for (const auto& [k, v] : settings_) Str(w, k.c_str(), v);
  w.EndObject();
  w.EndObject();
  std::string envelope = Done(sb);
  // Merge: {"instance":..,"settings":{..}} + the op's members.
  if (request.size() > 2) {
    envelope.pop_back();
    envelope += "," + request.substr(1);
  }
  return remote_->Call(info_.name, op, envelope);
}

InboundOutcome Instance::RemoteInbound(const HttpIn& req) {
  InboundOutcome out;
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("request");
  w.StartObject();
  Str(w, "method", req.method);
  Str(w, "path", req.path);
  Str(w, "query", req.query);
  Headers(w, req.headers);
  Body(w, req.body);
  Str(w, "remote_address", req.remote_address);
  w.EndObject();
  w.EndObject();
  auto answer = RemoteCall("inbound", Done(sb));
  auto reject = [&out](int status, std::string reason) {
    out.rejected = true;
    out.status = status;
    out.reason = std::move(reason);
    out.payloads.clear();
    return out;
  };
  if (!answer.ok()) {
    spdlog::warn("{}: {}", owner_, answer.status().message());
    // Not connected or no answer: the sender tries again later, and nothing was acknowledged.
    return answer.status().code() == StatusCode::kUnavailable
               ? reject(503, "the connector for this source is not available; try again later")
               : reject(500, "the connector failed: " + answer.status().message());
  }
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) return reject(500, "the connector's answer is not JSON");
  if (doc.HasMember("reject") && doc["reject"].IsObject()) {
    const auto& r = doc["reject"];
    int status = r.HasMember("status") && r["status"].IsInt() ? r["status"].GetInt() : 400;
    if (status < 400 || status > 599) status = 400;
    return reject(status, Text(r, "reason"));
  }
  auto payloads = ReadPayloads(doc);
  if (!payloads.ok()) {
    spdlog::error("{}: the connector's inbound answer is malformed: {}", owner_, payloads.status().message());
    return reject(500, "the connector's answer is malformed");
  }
  out.payloads = std::move(payloads).value();
  out.status = doc.HasMember("status") && doc["status"].IsInt() ? doc["status"].GetInt() : 200;
  if (out.status < 200 || out.status > 299) out.status = 200;
  out.content_type = Text(doc, "content_type");
  auto body = ReadBody(doc, "answer");
  if (body.ok()) out.body = std::move(body).value();
  return out;
}

Result<OutRequest> Instance::RemoteBuildDelivery(const Delivery& delivery) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  WriteDelivery(w, delivery);
  w.EndObject();
  auto answer = RemoteCall("build_delivery", Done(sb));
  if (!answer.ok()) return answer.status();
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) return st.Prepend(owner_ + ": ");
  return ReadRequest(doc, owner_, "delivery");
}

VerdictOutcome Instance::RemoteJudge(const Delivery& delivery, const HttpReply& reply) {
  VerdictOutcome out;
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  WriteDelivery(w, delivery);
  WriteResponse(w, reply);
  w.EndObject();
  auto answer = RemoteCall("judge_delivery", Done(sb));
  if (!answer.ok()) {
    // The request went out; the verdict is unknown: try again (the event id lets the system
    // recognise a repeat).
    out.verdict = Verdict::kRetry;
    out.message = answer.status().message();
    return out;
  }
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) {
    out.verdict = Verdict::kRetry;
    out.message = owner_ + ": the connector's verdict is not JSON";
    return out;
  }
  bool known = false;
  out.verdict = VerdictNamed(Text(doc, "verdict"), &known);
  out.message = Text(doc, "message");
  out.step = Text(doc, "step");
  out.retry_after_ms = doc.HasMember("retry_after_ms") && doc["retry_after_ms"].IsInt64() ? doc["retry_after_ms"].GetInt64() : 0;
  if (!known) {
    out.verdict = Verdict::kRetry;
    out.message = "the connector gave no known verdict (done, retry, permanent, token_expired, next) on HTTP " +
                  std::to_string(reply.status);
  }
  return out;
}

Result<OutRequest> Instance::RemoteBuildPoll(const std::string& cursor, const std::string& token) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  Str(w, "cursor", cursor);
  Str(w, "token", token);
  w.EndObject();
  auto answer = RemoteCall("build_poll", Done(sb));
  if (!answer.ok()) return answer.status();
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) return st.Prepend(owner_ + ": ");
  return ReadRequest(doc, owner_, "poll");
}

PollOutcome Instance::RemoteParsePoll(const std::string& cursor, const HttpReply& reply) {
  PollOutcome out;
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  Str(w, "cursor", cursor);
  WriteResponse(w, reply);
  w.EndObject();
  auto answer = RemoteCall("parse_poll", Done(sb));
  auto fail = [&out](Verdict v, std::string message) {
    out.failed = true;
    out.verdict = v;
    out.message = std::move(message);
    out.payloads.clear();
    return out;
  };
  if (!answer.ok()) return fail(Verdict::kRetry, answer.status().message());
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) return fail(Verdict::kRetry, owner_ + ": the answer is not JSON");
  if (doc.HasMember("fail")) {
    const auto& f = doc["fail"];
    bool known = false;
    Verdict v = VerdictNamed(Text(f, "verdict"), &known);
    if (!known || v == Verdict::kDone || v == Verdict::kNext) v = Verdict::kRetry;
    return fail(v, f.IsString() ? std::string(f.GetString()) : Text(f, "message"));
  }
  if (!doc.HasMember("cursor")) return fail(Verdict::kRetry, "the connector gave neither a cursor nor an error");
  auto payloads = ReadPayloads(doc);
  if (!payloads.ok()) return fail(Verdict::kRetry, owner_ + ": " + payloads.status().message());
  out.payloads = std::move(payloads).value();
  out.cursor = Text(doc, "cursor");
  out.more = doc.HasMember("more") && doc["more"].IsBool() && doc["more"].GetBool();
  return out;
}

Result<OutRequest> Instance::RemoteBuildToken() {
  auto answer = RemoteCall("build_token", "{}");
  if (!answer.ok()) return answer.status();
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) return st.Prepend(owner_ + ": ");
  return ReadRequest(doc, owner_, "token");
}

TokenOutcome Instance::RemoteParseToken(const HttpReply& reply) {
  TokenOutcome out;
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  WriteResponse(w, reply);
  w.EndObject();
  auto answer = RemoteCall("parse_token", Done(sb));
  if (!answer.ok()) {
    out.message = answer.status().message();
    return out;
  }
  rapidjson::Document doc;
  if (Status st = json::Parse(*answer, &doc); !st.ok()) {
    out.message = owner_ + ": the answer is not JSON";
    return out;
  }
  if (doc.HasMember("fail")) {
    out.message = Text(doc, "fail");
    return out;
  }
  out.token = Text(doc, "token");
  out.expires_in_ms = doc.HasMember("expires_in_ms") && doc["expires_in_ms"].IsInt64() ? doc["expires_in_ms"].GetInt64() : 0;
  out.ok = !out.token.empty();
  if (!out.ok) out.message = "the connector returned an empty token";
  return out;
}

}  // namespace channelhub::plugin
