#include "connectors/wecom/wecom.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <initializer_list>
#include <pugixml.hpp>
#include <set>

#include "connectors/common/crypto.hpp"
#include "connectors/common/json_guard.hpp"
#include "connectors/common/xml_guard.hpp"

namespace channelhub::connectors::wecom {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

bool HasElementChild(const pugi::xml_node& n) {
  for (pugi::xml_node c : n.children()) {
    if (c.type() == pugi::node_element) return true;
  }
  return false;
}

// An element as JSON: an object of its child elements (first of each name), or its text.
void WriteElement(JsonWriter& w, const pugi::xml_node& n, int depth) {
  if (depth < 8 && HasElementChild(n)) {
    w.StartObject();
    std::set<std::string> seen;
    for (pugi::xml_node c : n.children()) {
      if (c.type() != pugi::node_element || !seen.insert(c.name()).second) continue;
      w.Key(c.name());
      WriteElement(w, c, depth + 1);
    }
    w.EndObject();
    return;
  }
  WriteString(w, n.text().get());
}

std::string Hash(std::initializer_list<std::string_view> parts) {
  std::string joined;
  for (std::string_view p : parts) {
    // Length-prefixed, so ("ab","c") and ("a","bc") differ.
    joined += std::to_string(p.size());
    joined += ':';
    joined.append(p);
  }
  return HexLower(Sha256(joined));
}

const rapidjson::Value* Member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string StringMember(const rapidjson::Value& v, const char* name) {
  const rapidjson::Value* m = Member(v, name);
  if (!m || !m->IsString()) return {};
  return std::string(m->GetString(), m->GetStringLength());
}

std::string Serialise(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

// errcode of a WeCom answer (0 when absent, as on some success answers).
int64_t ErrCode(const rapidjson::Value& doc) {
  const rapidjson::Value* code = Member(doc, "errcode");
  if (code && code->IsInt64()) return code->GetInt64();
  return 0;
}

std::string ErrText(const rapidjson::Value& doc) {
  return "errcode " + std::to_string(ErrCode(doc)) + ": " + StringMember(doc, "errmsg");
}

rapidjson::Document ParseBody(std::string_view body, const char* what) {
  rapidjson::Document doc;
  ParseJsonBounded(body, &doc);
  if (doc.HasParseError() || !doc.IsObject())
    throw sdk::Failure(std::string(what) + ": the answer is not a JSON object");
  return doc;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    std::size_t comma = s.find(',');
    std::string_view part = TrimView(s.substr(0, comma));
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return out;
}

}  // namespace

std::string CallbackMessage::Get(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return {};
}

std::optional<bool> ChurnOf(std::string_view change_type, std::string_view source) {
  if (change_type == "del_external_contact") return TrimView(source) != kDeleteByTransfer;
  if (change_type == "del_follow_user") return true;
  return std::nullopt;
}

std::string EventIdOf(const CallbackMessage& m) {
  const std::string to = m.Get("ToUserName");
  if (m.Get("Event") == "change_external_contact") {
    return "wecom-ec-" + Hash({to, m.Get("CreateTime"), m.Get("ChangeType"), m.Get("ExternalUserID"),
                               m.Get("UserID")});
  }
  if (!m.Get("MsgId").empty()) return "wecom-msg-" + Hash({to, m.Get("MsgId")});
  std::string rest;
  for (const auto& [k, v] : m.fields) {
    if (k == "ToUserName" || k == "FromUserName" || k == "CreateTime" || k == "Event") continue;
    rest += Hash({k, v});
  }
  return "wecom-ev-" +
         Hash({to, m.Get("FromUserName"), m.Get("CreateTime"), m.Get("Event"), rest});
}

bool ParseCallback(std::string_view xml, CallbackMessage* out, std::string* error) {
  pugi::xml_document doc;
  const bool parsed = ParseXmlGuarded(xml, &doc, pugi::encoding_utf8).empty();
  pugi::xml_node root = doc.document_element();
  if (!parsed || !root || std::string_view(root.name()) != "xml") {
    *error = "the decrypted message is not WeCom XML";
    return false;
  }
  CallbackMessage m;
  std::set<std::string> seen;
  for (pugi::xml_node c : root.children()) {
    if (c.type() != pugi::node_element || !seen.insert(c.name()).second) continue;
    if (HasElementChild(c)) continue;
    m.fields.emplace_back(c.name(), std::string(TrimView(c.text().get())));
  }
  const std::string msg_type = m.Get("MsgType");
  const std::string event = m.Get("Event");
  const std::string change = m.Get("ChangeType");
  if (msg_type.empty()) {
    *error = "the message has no MsgType";
    return false;
  }
  if (event == "change_external_contact") {
    if (change.empty() || m.Get("ExternalUserID").empty()) {
      *error = "change_external_contact without ChangeType or ExternalUserID";
      return false;
    }
    m.kind = "external_contact." + change;
  } else if (msg_type == "event") {
    if (event.empty()) {
      *error = "an event without Event";
      return false;
    }
    m.kind = "event." + event;
  } else {
    m.kind = "message." + msg_type;
  }

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  std::set<std::string> written;
  for (pugi::xml_node c : root.children()) {
    if (c.type() != pugi::node_element || !written.insert(c.name()).second) continue;
    w.Key(c.name());
    const std::string_view text = TrimView(c.text().get());
    if (std::string_view(c.name()) == "CreateTime" && AllDigits(text)) {
      w.Int64(std::stoll(std::string(text)));
    } else if (HasElementChild(c)) {
      WriteElement(w, c, 1);
    } else {
      WriteString(w, text);
    }
  }
  if (event == "change_external_contact") {
    if (std::optional<bool> churn = ChurnOf(change, m.Get("Source"))) {
      w.Key("churn");
      w.Bool(*churn);
    }
  }
  w.EndObject();
  m.json.assign(buf.GetString(), buf.GetSize());
  m.event_id = EventIdOf(m);
  *out = std::move(m);
  return true;
}

// ---------------------------------------------------------------------------------------------
namespace api {

std::string NormaliseApiUrl(std::string_view url) {
  std::string u(TrimView(url));
  if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0) {
    throw sdk::Failure("setting \"api_url\": expected an http(s) URL such as " +
                       std::string(kDefaultApiUrl));
  }
  if (u.find('?') != std::string::npos || u.find('#') != std::string::npos)
    throw sdk::Failure("setting \"api_url\": no query or fragment expected");
  while (!u.empty() && u.back() == '/') u.pop_back();
  const std::size_t host = u.find("://") + 3;
  if (u.size() <= host) throw sdk::Failure("setting \"api_url\": no host");
  return u;
}

sdk::OutRequest GetTokenRequest(std::string_view api_url, std::string_view corp_id,
                                std::string_view secret) {
  if (corp_id.empty()) throw sdk::Failure("missing setting \"corp_id\"");
  if (secret.empty()) throw sdk::Failure("missing setting \"secret\" (the app's Secret, for gettoken)");
  sdk::OutRequest r;
  r.method = "GET";
  r.target = std::string(api_url) + "/cgi-bin/gettoken?corpid=" + sdk::UrlEncode(corp_id) +
             "&corpsecret=" + sdk::UrlEncode(secret);
  return r;
}

sdk::Token ParseTokenResponse(const sdk::Response& res) {
  if (res.status != 200) throw sdk::Failure("gettoken: HTTP " + std::to_string(res.status));
  rapidjson::Document doc = ParseBody(res.body, "gettoken");
  if (ErrCode(doc) != 0) throw sdk::Failure("gettoken refused: " + ErrText(doc));
  sdk::Token t;
  t.value = StringMember(doc, "access_token");
  if (t.value.empty()) throw sdk::Failure("gettoken: the answer has no access_token");
  int64_t expires_in = 7200;
  if (const rapidjson::Value* e = Member(doc, "expires_in"); e && e->IsInt64()) expires_in = e->GetInt64();
  if (expires_in <= 0) throw sdk::Failure("gettoken: expires_in is not positive");
  t.expires_in_ms = expires_in * 1000;
  return t;
}

bool IsTokenExpiredCode(int64_t errcode) {
  return errcode == 40001 || errcode == 40014 || errcode == 42001 || errcode == 42007 ||
         errcode == 42009;
}

bool IsTransientCode(int64_t errcode) {
  return errcode == -1 || errcode == 45009 || errcode == 45011 || errcode == 45033;
}

sdk::OutRequest ExternalContactGetRequest(std::string_view api_url, std::string_view token,
                                          std::string_view external_userid,
                                          std::string_view cursor) {
  if (external_userid.empty()) throw sdk::Failure("externalcontact/get: no external_userid");
  sdk::OutRequest r;
  r.method = "GET";
  r.target = std::string(api_url) + "/cgi-bin/externalcontact/get?access_token=" +
             sdk::UrlEncode(token) + "&external_userid=" + sdk::UrlEncode(external_userid);
  if (!cursor.empty()) r.target += "&cursor=" + sdk::UrlEncode(cursor);
  return r;
}

sdk::Verdict JudgeApiResponse(const sdk::Response& res, int64_t* errcode) {
  if (errcode) *errcode = 0;
  if (res.status == 429 || res.status >= 500) return sdk::Verdict::Retry("HTTP " + std::to_string(res.status));
  if (res.status != 200) return sdk::Verdict::Permanent("HTTP " + std::to_string(res.status));
  rapidjson::Document doc;
  ParseJsonBounded(res.body, &doc);
  if (doc.HasParseError() || !doc.IsObject()) return sdk::Verdict::Retry("the answer is not JSON");
  const int64_t code = ErrCode(doc);
  if (errcode) *errcode = code;
  if (code == 0) return sdk::Verdict::Done();
  if (IsTokenExpiredCode(code)) return sdk::Verdict::TokenExpired(ErrText(doc));
  if (IsTransientCode(code)) return sdk::Verdict::Retry(ErrText(doc));
  return sdk::Verdict::Permanent(ErrText(doc));
}

ContactDocument ParseExternalContact(std::string_view body) {
  rapidjson::Document doc = ParseBody(body, "externalcontact/get");
  if (ErrCode(doc) != 0) throw sdk::Failure("externalcontact/get: " + ErrText(doc));
  const rapidjson::Value* contact = Member(doc, "external_contact");
  ContactDocument out;
  if (contact) out.external_userid = StringMember(*contact, "external_userid");
  if (out.external_userid.empty())
    throw sdk::Failure("externalcontact/get: no external_contact.external_userid");
  out.next_cursor = StringMember(doc, "next_cursor");
  out.json = Serialise(doc);
  return out;
}

sdk::OutRequest BatchGetByUserRequest(std::string_view api_url, std::string_view token,
                                      const std::vector<std::string>& userids,
                                      std::string_view cursor, int limit) {
  if (userids.empty()) throw sdk::Failure("batch/get_by_user: no userids");
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("userid_list");
  w.StartArray();
  for (const std::string& u : userids) WriteString(w, u);
  w.EndArray();
  w.Key("cursor");
  WriteString(w, cursor);
  w.Key("limit");
  w.Int(limit);
  w.EndObject();
  sdk::OutRequest r;
  r.method = "POST";
  r.target = std::string(api_url) + "/cgi-bin/externalcontact/batch/get_by_user?access_token=" +
             sdk::UrlEncode(token);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

BatchPage ParseBatchGetByUser(std::string_view body) {
  rapidjson::Document doc = ParseBody(body, "batch/get_by_user");
  if (ErrCode(doc) != 0) throw sdk::Failure("batch/get_by_user: " + ErrText(doc));
  BatchPage page;
  page.next_cursor = StringMember(doc, "next_cursor");
  const rapidjson::Value* list = Member(doc, "external_contact_list");
  if (!list) return page;
  if (!list->IsArray()) throw sdk::Failure("batch/get_by_user: external_contact_list is not a list");
  std::set<std::string> seen;
  for (const rapidjson::Value& item : list->GetArray()) {
    const rapidjson::Value* contact = Member(item, "external_contact");
    if (!contact) continue;
    std::string id = StringMember(*contact, "external_userid");
    if (!id.empty() && seen.insert(id).second) page.external_userids.push_back(std::move(id));
  }
  return page;
}

std::string FormatSyncCursor(const SyncCursor& c) {
  if (c.page.empty() && c.queue.empty()) return "";
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("page");
  WriteString(w, c.page);
  w.Key("queue");
  w.StartArray();
  for (const std::string& id : c.queue) WriteString(w, id);
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

bool ParseSyncCursor(std::string_view text, SyncCursor* out) {
  *out = SyncCursor();
  if (TrimView(text).empty()) return true;
  rapidjson::Document doc;
  ParseJsonBounded(text, &doc);
  if (doc.HasParseError() || !doc.IsObject()) return false;
  const rapidjson::Value* page = Member(doc, "page");
  const rapidjson::Value* queue = Member(doc, "queue");
  if (!page || !page->IsString() || !queue || !queue->IsArray()) return false;
  out->page.assign(page->GetString(), page->GetStringLength());
  for (const rapidjson::Value& id : queue->GetArray()) {
    if (!id.IsString() || id.GetStringLength() == 0) return false;
    out->queue.emplace_back(id.GetString(), id.GetStringLength());
  }
  return true;
}

}  // namespace api

// ---------------------------------------------------------------------------------------------
// wecom

const char* const Wecom::kSettings[] = {"token", "encoding_aes_key", "corp_id", "secret", "api_url",
                                        nullptr};

Wecom::Wecom(const sdk::Host& host, const sdk::Settings& settings)
    : Connector(host),
      crypt_(settings.Require("token"), std::string(TrimView(settings.Require("encoding_aes_key"))),
             std::string(TrimView(settings.Require("corp_id")))),
      corp_id_(std::string(TrimView(settings.Require("corp_id")))),
      secret_(settings.GetOr("secret", "")),
      api_url_(api::NormaliseApiUrl(settings.GetOr("api_url", std::string(kDefaultApiUrl)))) {}

sdk::InboundResult Wecom::Inbound(const sdk::Request& req) {
  if (req.method == "GET") return Verify(req);
  if (req.method == "POST") return Callback(req);
  return sdk::InboundResult::Reject(405, "use GET (URL verification) or POST (callbacks)");
}

sdk::InboundResult Wecom::Verify(const sdk::Request& req) {
  const std::string sig = req.QueryParam("msg_signature").value_or("");
  const std::string ts = req.QueryParam("timestamp").value_or("");
  const std::string nonce = req.QueryParam("nonce").value_or("");
  const std::string echostr = req.QueryParam("echostr").value_or("");
  if (sig.empty() || ts.empty() || nonce.empty() || echostr.empty())
    return sdk::InboundResult::Reject(400, "missing msg_signature, timestamp, nonce or echostr");
  if (!crypt_.Verify(sig, ts, nonce, echostr)) {
    host().Log(2, "wecom: URL verification with a wrong msg_signature");
    return sdk::InboundResult::Reject(401, "invalid signature");
  }
  std::string plain;
  if (CryptError e = crypt_.Decrypt(echostr, &plain); e != CryptError::kNone) {
    host().Log(2, std::string("wecom: URL verification refused: ") + CryptErrorName(e));
    return sdk::InboundResult::Reject(401, "invalid message");
  }
  sdk::InboundResult r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(plain);
  return r;
}

sdk::InboundResult Wecom::Callback(const sdk::Request& req) {
  const std::string sig = req.QueryParam("msg_signature").value_or("");
  const std::string ts = req.QueryParam("timestamp").value_or("");
  const std::string nonce = req.QueryParam("nonce").value_or("");
  if (sig.empty() || ts.empty() || nonce.empty())
    return sdk::InboundResult::Reject(400, "missing msg_signature, timestamp or nonce");

  // The envelope: XML <xml><Encrypt>...</Encrypt></xml>, or the JSON flavour {"encrypt": ...}.
  std::string encrypt;
  const std::string_view body = TrimView(req.body);
  if (!body.empty() && body.front() == '{') {
    rapidjson::Document doc;
    // Before the signature is checked: iterative, so that no nesting can exhaust the stack.
    doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (!doc.HasParseError() && doc.IsObject()) encrypt = StringMember(doc, "encrypt");
  } else {
    pugi::xml_document doc;
    if (ParseXmlGuarded(body, &doc).empty()) {
      encrypt = std::string(TrimView(doc.document_element().child("Encrypt").text().get()));
    }
  }
  if (encrypt.empty()) return sdk::InboundResult::Reject(400, "no Encrypt element in the body");

  if (!crypt_.Verify(sig, ts, nonce, encrypt)) {
    host().Log(2, "wecom: callback with a wrong msg_signature");
    return sdk::InboundResult::Reject(401, "invalid signature");
  }
  std::string plain;
  if (CryptError e = crypt_.Decrypt(encrypt, &plain); e != CryptError::kNone) {
    host().Log(2, std::string("wecom: callback refused: ") + CryptErrorName(e));
    return sdk::InboundResult::Reject(401, "invalid message");
  }
  CallbackMessage m;
  std::string error;
  if (!ParseCallback(plain, &m, &error)) {
    host().Log(2, "wecom: " + error);
    return sdk::InboundResult::Reject(400, "malformed message");
  }
  sdk::InboundResult r;
  r.payloads.push_back({m.event_id, m.kind, "application/json", std::move(m.json)});
  r.content_type = "text/plain; charset=utf-8";
  r.body = "success";
  return r;
}

sdk::OutRequest Wecom::BuildToken() { return api::GetTokenRequest(api_url_, corp_id_, secret_); }

sdk::Token Wecom::ParseToken(const sdk::Response& res) { return api::ParseTokenResponse(res); }

// ---------------------------------------------------------------------------------------------
// wecom_contacts

const char* const WecomContacts::kSettings[] = {"corp_id", "secret", "userids", "api_url",
                                                "page_size", "url", nullptr};

WecomContacts::WecomContacts(const sdk::Host& host, const sdk::Settings& settings)
    : Connector(host),
      corp_id_(std::string(TrimView(settings.Require("corp_id")))),
      secret_(settings.Require("secret")),
      api_url_(api::NormaliseApiUrl(
          settings.GetOr("api_url", settings.GetOr("url", std::string(kDefaultApiUrl))))),
      userids_(SplitList(settings.Require("userids"))) {
  if (userids_.empty()) throw sdk::Failure("setting \"userids\": list at least one member userid");
  if (userids_.size() > 100)
    throw sdk::Failure("setting \"userids\": batch/get_by_user takes 100 members at most");
  const std::string size = std::string(TrimView(settings.GetOr("page_size", "100")));
  if (!AllDigits(size) || std::stoll(size) < 1 || std::stoll(size) > 100)
    throw sdk::Failure("setting \"page_size\": expected a number from 1 to 100");
  page_size_ = static_cast<int>(std::stoll(size));
}

sdk::OutRequest WecomContacts::BuildPoll(std::string_view cursor, std::string_view token) {
  api::SyncCursor c;
  if (!api::ParseSyncCursor(cursor, &c)) {
    host().Log(2, "wecom_contacts: the saved cursor is not one this connector wrote; starting a new sync");
    c = api::SyncCursor();
  }
  if (!c.queue.empty()) return api::ExternalContactGetRequest(api_url_, token, c.queue.front());
  return api::BatchGetByUserRequest(api_url_, token, userids_, c.page, page_size_);
}

sdk::PollResult WecomContacts::ParsePoll(std::string_view cursor, const sdk::Response& res) {
  api::SyncCursor c;
  if (!api::ParseSyncCursor(cursor, &c)) c = api::SyncCursor();  // BuildPoll started over too
  int64_t errcode = 0;
  sdk::Verdict v = api::JudgeApiResponse(res, &errcode);
  sdk::PollResult r;
  if (!c.queue.empty()) {
    // The answer of externalcontact/get for c.queue.front().
    const std::string id = c.queue.front();
    if (v.kind == CHUB_VERDICT_DONE) {
      try {
        api::ContactDocument d = api::ParseExternalContact(res.body);
        std::string event_id =
            "wecom-contact-" + d.external_userid + "-" + HexLower(Sha256(d.json)).substr(0, 24);
        r.payloads.push_back({std::move(event_id), "externalcontact.get", "application/json", std::move(d.json)});
      } catch (const sdk::Failure& e) {
        // An answer without the contact would come back the same on every retry: skip it, loudly.
        host().Log(3, std::string("wecom_contacts: skipped a customer: ") + e.what());
      }
    } else if (errcode == kNotExternalContact || errcode == kInvalidExternalUserId) {
      host().Log(1, "wecom_contacts: a customer is no longer an external contact; skipped");
    } else {
      return sdk::PollResult::Fail(v.kind, "externalcontact/get: " + v.message);
    }
    c.queue.erase(c.queue.begin());
  } else {
    if (v.kind != CHUB_VERDICT_DONE) return sdk::PollResult::Fail(v.kind, "batch/get_by_user: " + v.message);
    api::BatchPage page = api::ParseBatchGetByUser(res.body);
    c.queue = std::move(page.external_userids);
    c.page = std::move(page.next_cursor);
  }
  // An empty cursor ends the sync: the next interval starts again from the first page.
  r.cursor = api::FormatSyncCursor(c);
  r.more = !r.cursor.empty();
  return r;
}

sdk::OutRequest WecomContacts::BuildToken() { return api::GetTokenRequest(api_url_, corp_id_, secret_); }

sdk::Token WecomContacts::ParseToken(const sdk::Response& res) { return api::ParseTokenResponse(res); }

}  // namespace channelhub::connectors::wecom
