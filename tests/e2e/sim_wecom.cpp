#include "tests/e2e/sim_wecom.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace channelhub::e2e {

namespace {

std::string B64Encode(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

bool B64Decode(const std::string& text, std::string* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::string raw(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  std::size_t len = static_cast<std::size_t>(n);
  if (text.back() == '=') --len;
  if (text[text.size() - 2] == '=') --len;
  raw.resize(len);
  *out = std::move(raw);
  return true;
}

std::string Sha1Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool Aes(bool encrypt, const std::string& key, const std::string& in, std::string* out) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) return false;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, k, k, encrypt ? 1 : 0) != 1) return false;
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  std::string buf(in.size() + 32, '\0');
  int n1 = 0, n2 = 0;
  if (EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(buf.data()), &n1,
                       reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) != 1)
    return false;
  if (EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(buf.data()) + n1, &n2) != 1) return false;
  buf.resize(static_cast<std::size_t>(n1 + n2));
  *out = std::move(buf);
  return true;
}

std::string PercentEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> QueryOf(const std::string& target) {
  std::map<std::string, std::string> out;
  const std::size_t q = target.find('?');
  if (q == std::string::npos) return out;
  std::string rest = target.substr(q + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t amp = rest.find('&', start);
    std::string part = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    std::size_t eq = part.find('=');
    if (!part.empty()) out[PercentDecode(part.substr(0, eq))] = eq == std::string::npos ? "" : PercentDecode(part.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

ScriptedReply JsonReply(const std::string& body, int status = 200) {
  ScriptedReply r;
  r.status = status;
  r.body = body;
  r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
  return r;
}

std::string ApiError(int code, const std::string& msg) {
  return "{\"errcode\":" + std::to_string(code) + ",\"errmsg\":\"" + JsonEscape(msg) + "\"}";
}

}  // namespace

WecomSimulator::WecomSimulator(std::string corp_id, std::string secret, std::string token,
                               std::string encoding_aes_key)
    : corp_id_(std::move(corp_id)), secret_(std::move(secret)), token_(std::move(token)) {
  if (encoding_aes_key.size() != 43 || !B64Decode(encoding_aes_key + "=", &key_) || key_.size() != 32)
    throw std::invalid_argument("WecomSimulator: EncodingAESKey must be 43 Base64 characters");
}

std::string WecomSimulator::Sign(const std::string& timestamp, const std::string& nonce,
                                 const std::string& encrypt) const {
  std::array<std::string, 4> parts = {token_, timestamp, nonce, encrypt};
  std::sort(parts.begin(), parts.end());
  return Sha1Hex(parts[0] + parts[1] + parts[2] + parts[3]);
}

std::string WecomSimulator::Encrypt(const std::string& msg, const std::string& random16) const {
  std::string plain = random16;
  const uint32_t n = static_cast<uint32_t>(msg.size());
  for (int shift = 24; shift >= 0; shift -= 8) plain.push_back(static_cast<char>((n >> shift) & 0xFF));
  plain += msg + corp_id_;
  const std::size_t pad = 32 - plain.size() % 32;
  plain.append(pad, static_cast<char>(pad));
  std::string cipher;
  if (!Aes(true, key_, plain, &cipher)) throw std::runtime_error("WecomSimulator: AES failed");
  return B64Encode(cipher);
}

bool WecomSimulator::Decrypt(const std::string& encrypt, std::string* msg, std::string* receive_id) const {
  std::string cipher, plain;
  if (!B64Decode(encrypt, &cipher) || cipher.empty() || cipher.size() % 16 != 0) return false;
  if (!Aes(false, key_, cipher, &plain)) return false;
  const std::size_t pad = static_cast<unsigned char>(plain.back());
  if (pad < 1 || pad > 32 || pad > plain.size()) return false;
  plain.resize(plain.size() - pad);
  if (plain.size() < 20) return false;
  std::size_t len = 0;
  for (int i = 16; i < 20; ++i) len = (len << 8) | static_cast<unsigned char>(plain[i]);
  if (len > plain.size() - 20) return false;
  *msg = plain.substr(20, len);
  *receive_id = plain.substr(20 + len);
  return true;
}

WecomSimulator::Signed WecomSimulator::Verification(const std::string& echo, const std::string& timestamp,
                                                    const std::string& nonce) const {
  std::string random(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), 16);
  Signed s;
  s.encrypt = Encrypt(echo, random);
  s.query = "msg_signature=" + Sign(timestamp, nonce, s.encrypt) + "&timestamp=" + timestamp +
            "&nonce=" + nonce + "&echostr=" + PercentEncode(s.encrypt);
  return s;
}

WecomSimulator::Signed WecomSimulator::Callback(const std::string& xml, const std::string& timestamp,
                                                const std::string& nonce) const {
  std::string random(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), 16);
  Signed s;
  s.encrypt = Encrypt(xml, random);
  s.query = "msg_signature=" + Sign(timestamp, nonce, s.encrypt) + "&timestamp=" + timestamp + "&nonce=" + nonce;
  s.body = "<xml><ToUserName><![CDATA[" + corp_id_ + "]]></ToUserName><Encrypt><![CDATA[" + s.encrypt +
           "]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>";
  return s;
}

std::string WecomSimulator::ContactEventXml(const std::string& change_type, const std::string& userid,
                                            const std::string& external_userid, int64_t create_time,
                                            const std::string& extra) const {
  return "<xml>\n  <ToUserName><![CDATA[" + corp_id_ + "]]></ToUserName>\n  <FromUserName><![CDATA[sys]]></FromUserName>\n"
         "  <CreateTime>" + std::to_string(create_time) + "</CreateTime>\n  <MsgType><![CDATA[event]]></MsgType>\n"
         "  <Event><![CDATA[change_external_contact]]></Event>\n  <ChangeType><![CDATA[" + change_type +
         "]]></ChangeType>\n  <UserID><![CDATA[" + userid + "]]></UserID>\n  <ExternalUserID><![CDATA[" +
         external_userid + "]]></ExternalUserID>\n" + extra + "</xml>";
}

void WecomSimulator::AddContact(const std::string& external_userid, const std::string& name,
                                const std::string& unionid, std::vector<Follow> follows) {
  std::lock_guard<std::mutex> lock(mu_);
  contacts_.push_back({external_userid, name, unionid, std::move(follows)});
}

void WecomSimulator::SetUsesPerToken(int uses) {
  std::lock_guard<std::mutex> lock(mu_);
  uses_per_token_ = uses;
}

int WecomSimulator::TokenRequests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return token_requests_;
}
int WecomSimulator::ExpiredAnswers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expired_answers_;
}
int WecomSimulator::ApiCalls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return api_calls_;
}

std::string WecomSimulator::FollowJson(const Contact& c, const Follow& f, bool batch) const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("userid");
  w.String(f.userid.c_str());
  w.Key("remark");
  w.String(f.remark.c_str());
  w.Key("createtime");
  w.Int64(f.createtime);
  w.Key(batch ? "tag_id" : "tags");
  w.StartArray();
  for (const std::string& t : f.tags) {
    const std::string id = "et" + Sha1Hex(t).substr(0, 20);
    if (batch) {
      w.String(id.c_str());
    } else {
      w.StartObject();
      w.Key("group_name");
      w.String("客户等级");
      w.Key("tag_name");
      w.String(t.c_str());
      w.Key("tag_id");
      w.String(id.c_str());
      w.Key("type");
      w.Int(1);
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("remark_mobiles");
  w.StartArray();
  for (const std::string& m : f.remark_mobiles) w.String(m.c_str());
  w.EndArray();
  w.Key("oper_userid");
  w.String(c.external_userid.c_str());
  w.Key("add_way");
  w.Int(1);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string WecomSimulator::ContactJson(const Contact& c) const {
  std::string j = "{\"external_userid\":\"" + JsonEscape(c.external_userid) + "\",\"name\":\"" + JsonEscape(c.name) +
                  "\",\"type\":1,\"gender\":1";
  if (!c.unionid.empty()) j += ",\"unionid\":\"" + JsonEscape(c.unionid) + "\"";
  return j + "}";
}

std::string WecomSimulator::UseToken(const std::string& token) {
  auto it = tokens_.find(token);
  if (token.empty() || it == tokens_.end()) return ApiError(40014, "invalid access_token");
  if (it->second == 0) {
    ++expired_answers_;
    return ApiError(42001, "access_token expired");
  }
  if (it->second > 0) --it->second;
  return "";
}

ScriptedReply WecomSimulator::Handle(const RecordedRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string path = PathOf(request.target);
  std::map<std::string, std::string> q = QueryOf(request.target);

  if (path == "/cgi-bin/gettoken") {
    ++token_requests_;
    if (request.method != "GET") return JsonReply(ApiError(-1, "method"), 405);
    if (q["corpid"] != corp_id_) return JsonReply(ApiError(40013, "invalid corpid"));
    if (q["corpsecret"] != secret_) return JsonReply(ApiError(40001, "invalid credential"));
    const int serial = ++issued_;
    const std::string token = "AT-" + std::to_string(serial) + "-" + Sha1Hex(secret_ + std::to_string(serial)).substr(0, 12);
    tokens_[token] = uses_per_token_ > 0 ? uses_per_token_ : -1;
    return JsonReply("{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"" + token + "\",\"expires_in\":7200}");
  }

  if (path == "/cgi-bin/externalcontact/get") {
    if (std::string e = UseToken(q["access_token"]); !e.empty()) return JsonReply(e);
    ++api_calls_;
    for (const Contact& c : contacts_) {
      if (c.external_userid != q["external_userid"]) continue;
      std::string follow;
      for (const Follow& f : c.follows) follow += (follow.empty() ? "" : ",") + FollowJson(c, f, false);
      return JsonReply("{\"errcode\":0,\"errmsg\":\"ok\",\"external_contact\":" + ContactJson(c) +
                       ",\"follow_user\":[" + follow + "],\"next_cursor\":\"\"}");
    }
    return JsonReply(ApiError(84061, "not external contact"));
  }

  if (path == "/cgi-bin/externalcontact/batch/get_by_user") {
    if (request.method != "POST") return JsonReply(ApiError(-1, "method"), 405);
    if (std::string e = UseToken(q["access_token"]); !e.empty()) return JsonReply(e);
    rapidjson::Document body;
    body.Parse(request.body.c_str());
    if (body.HasParseError() || !body.IsObject() || !body.HasMember("userid_list") || !body["userid_list"].IsArray() ||
        body["userid_list"].Empty()) {
      return JsonReply(ApiError(40058, "invalid userid_list"));
    }
    std::vector<std::string> users;
    for (const auto& u : body["userid_list"].GetArray()) {
      if (u.IsString()) users.emplace_back(u.GetString());
    }
    int limit = body.HasMember("limit") && body["limit"].IsInt() ? body["limit"].GetInt() : 50;
    if (limit < 1 || limit > 100) return JsonReply(ApiError(40058, "invalid limit"));
    std::size_t start = 0;
    if (body.HasMember("cursor") && body["cursor"].IsString() && body["cursor"].GetStringLength() > 0) {
      const std::string cursor = body["cursor"].GetString();
      if (cursor.rfind("CUR", 0) != 0) return JsonReply(ApiError(40058, "invalid cursor"));
      start = std::stoul(cursor.substr(3));
    }
    ++api_calls_;
    // Every (contact, follower) pair of the listed members, in a fixed order.
    std::vector<std::string> items;
    for (const Contact& c : contacts_) {
      for (const Follow& f : c.follows) {
        if (std::find(users.begin(), users.end(), f.userid) == users.end()) continue;
        items.push_back("{\"external_contact\":" + ContactJson(c) + ",\"follow_info\":" + FollowJson(c, f, true) + "}");
      }
    }
    std::string list;
    const std::size_t end = std::min(items.size(), start + static_cast<std::size_t>(limit));
    for (std::size_t i = start; i < end; ++i) list += (list.empty() ? "" : ",") + items[i];
    const std::string next = end < items.size() ? "CUR" + std::to_string(end) : "";
    return JsonReply("{\"errcode\":0,\"errmsg\":\"ok\",\"external_contact_list\":[" + list + "],\"next_cursor\":\"" +
                     next + "\"}");
  }
  return JsonReply(ApiError(60011, "no privilege to access/modify contact/party/agent"), 404);
}

}  // namespace channelhub::e2e
