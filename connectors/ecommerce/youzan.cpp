#include "connectors/ecommerce/youzan.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

#include "connectors/common/crypto.hpp"
#include "connectors/common/json_guard.hpp"

namespace channelhub::connectors::ecommerce {
namespace {

constexpr std::string_view kSuccess = R"({"code":0,"msg":"success"})";

sdk::InboundResult Success() {
  sdk::InboundResult r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = std::string(kSuccess);
  return r;
}

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

// A scalar field as text: strings as they are, numbers in decimal, booleans as true/false.
std::string ScalarText(const rapidjson::Value* v) {
  if (!v) return {};
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  if (v->IsDouble()) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v->Accept(w);
    return sb.GetString();
  }
  return {};
}

bool IsTrue(const rapidjson::Value* v) {
  if (!v) return false;
  if (v->IsBool()) return v->GetBool();
  if (v->IsString()) return std::string_view(v->GetString(), v->GetStringLength()) == "true";
  if (v->IsInt64()) return v->GetInt64() != 0;
  return false;
}

}  // namespace

Youzan::Youzan(const sdk::Host& host, const sdk::Settings& settings)
    : Connector(host), client_id_(settings.Require("client_id")), client_secret_(settings.Require("client_secret")) {}

sdk::InboundResult Youzan::Inbound(const sdk::Request& req) {
  rapidjson::Document env;
  ParseJsonBounded(req.body, &env);
  if (env.HasParseError() || !env.IsObject()) return sdk::InboundResult::Reject(400, "body is not a JSON object");

  // The signature is inside the body, so the envelope is parsed first; nothing of it is used
  // before the check below.
  const rapidjson::Value* client_id = Member(env, "client_id");
  const rapidjson::Value* msg = Member(env, "msg");
  const rapidjson::Value* sign = Member(env, "sign");
  if (!client_id || !client_id->IsString() || !sign || !sign->IsString() || (msg && !msg->IsString())) {
    return sdk::InboundResult::Reject(401, "invalid signature");
  }
  const std::string_view given_client(client_id->GetString(), client_id->GetStringLength());
  const std::string_view raw_msg = msg ? std::string_view(msg->GetString(), msg->GetStringLength()) : "";
  std::string signed_text;
  signed_text.reserve(client_id_.size() + raw_msg.size() + client_secret_.size());
  signed_text.append(client_id_).append(raw_msg).append(client_secret_);
  const std::string expected = HexLower(Md5(signed_text));
  std::string given_sign(sign->GetString(), sign->GetStringLength());
  for (char& c : given_sign) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  // Both checks run, so the time taken does not say which one failed.
  const bool client_ok = ConstantTimeEquals(given_client, client_id_);
  const bool sign_ok = ConstantTimeEquals(given_sign, expected);
  if (!client_ok || !sign_ok) return sdk::InboundResult::Reject(401, "invalid signature");

  // Liveness probes: answered, never journaled.
  if (IsTrue(Member(env, "test"))) return Success();

  const std::string type = ScalarText(Member(env, "type"));
  const std::string id = ScalarText(Member(env, "id"));
  const std::string status = ScalarText(Member(env, "status"));
  const std::string version = ScalarText(Member(env, "version"));
  std::string event_id = ScalarText(Member(env, "msg_id"));
  if (event_id.empty()) event_id = type + ":" + id + ":" + status + ":" + version;

  // The payload: the envelope without the signature and the per-attempt fields (so that every
  // retry journals the same bytes), with msg decoded. msg is encoded like JavaScript's encodeURI:
  // a '+' stands for itself, a space is %20.
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  for (auto it = env.MemberBegin(); it != env.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (name == "sign" || name == "msg" || name == "test" || name == "send_count" || name == "sendCount") continue;
    out.AddMember(rapidjson::Value(it->name, a), rapidjson::Value(it->value, a), a);
  }
  const std::string decoded = sdk::UrlDecode(raw_msg, false);
  rapidjson::Document body_doc;
  ParseJsonBounded(decoded, &body_doc);
  if (!body_doc.HasParseError() && (body_doc.IsObject() || body_doc.IsArray())) {
    out.AddMember("msg", rapidjson::Value(body_doc, a), a);
  } else {
    // Not JSON: kept as text, so nothing is lost.
    out.AddMember("msg", rapidjson::Value(decoded.data(), static_cast<rapidjson::SizeType>(decoded.size()), a), a);
  }
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  out.Accept(w);

  sdk::InboundResult r = Success();
  r.payloads.push_back({std::move(event_id), type, "application/json", std::string(sb.GetString(), sb.GetSize())});
  return r;
}

}  // namespace channelhub::connectors::ecommerce
