// WeCom connectors: the official vectors (protocols.md §1.3, W1-W4), round trips, refusals,
// the callback payload and its id, gettoken and the API verdicts, driven through the C ABI where
// the hub would call them.
#include "connectors/wecom/wecom.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <channelhub/plugin.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "connectors/common/crypto.hpp"

namespace sdk = channelhub::sdk;
namespace cc = channelhub::connectors;
namespace wc = channelhub::connectors::wecom;


namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

// Vector set A (official doc 90968).
constexpr const char* kTokenA = "QDG6eK";
constexpr const char* kKeyA = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
constexpr const char* kCorpA = "wx5823bf96d3bd56c7";
constexpr const char* kW1Echo =
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
constexpr const char* kW1EchoEncoded =
    "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D";
constexpr const char* kW2Encrypt =
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+"
    "HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3"
    "LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn2"
    "8H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
constexpr const char* kW2Plain =
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>";

// Vector set B (sbzhu/weworkapi_python Sample.py).
constexpr const char* kTokenB = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
constexpr const char* kKeyB = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
constexpr const char* kCorpB = "ww1436e0e65a779aee";
constexpr const char* kW3Echo =
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
constexpr const char* kW4Encrypt =
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+"
    "kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24Yh"
    "mZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOp"
    "cwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+";
constexpr const char* kW4Plain =
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>"
    "1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>"
    "1000002</AgentID></xml>";

std::string Event(const std::string& change, const std::string& extra = "",
                  const std::string& create_time = "1403610513") {
  return "<xml><ToUserName><![CDATA[" + std::string(kCorpA) +
         "]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>" + create_time +
         "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>"
         "<ChangeType><![CDATA[" + change +
         "]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]>"
         "</ExternalUserID>" + extra + "</xml>";
}

// ---- a small ABI driver ----

struct Outcome {
  std::vector<std::vector<std::string>> payloads;  // id, kind, content type, body
  bool responded = false, rejected = false;
  int status = 0;
  std::string content_type, body, reason;
};

struct Built {
  bool ok = false;
  std::string method, target, body, reason;
};

// The connectors as plugin.cpp describes them (the unit test links the library, not the module).
const chub_connector& ConnectorNamed(const std::string& name) {
  static const chub_connector kWecom = sdk::Describe<wc::Wecom>(
      "wecom", "test", CHUB_CAP_INBOUND | CHUB_CAP_TOKEN, wc::Wecom::kSettings);
  static const chub_connector kContacts = sdk::Describe<wc::WecomContacts>(
      "wecom_contacts", "test", CHUB_CAP_POLL | CHUB_CAP_TOKEN, wc::WecomContacts::kSettings);
  return name == "wecom" ? kWecom : kContacts;
}

class Instance {
 public:
  Instance(const std::string& name, const KV& settings) : c_(ConnectorNamed(name)) {
    host_.abi_version = CHUB_PLUGIN_ABI_VERSION;
    host_.ctx = this;
    host_.log = [](void*, int, chub_str) {};
    host_.now_ms = [](void*) -> int64_t { return 1700000000000; };
    host_.random = [](void*, unsigned char* b, size_t n) {
      for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i + 1);
    };
    std::vector<chub_kv> kv;
    for (const auto& [k, v] : settings) kv.push_back({sdk::Str(k), sdk::Str(v)});
    chub_settings s{kv.data(), kv.size()};
    char error[512] = {0};
    self_ = c_.create(&host_, &s, error, sizeof error);
    error_ = error;
  }
  ~Instance() {
    if (self_) c_.destroy(self_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  bool ok() const { return self_ != nullptr; }
  const std::string& error() const { return error_; }

  Outcome Inbound(const std::string& method, const std::string& query, const std::string& body) {
    Outcome out;
    const std::string path = "/webhooks/wecom", remote = "203.0.113.7";
    chub_http_request req{sdk::Str(method), sdk::Str(path), sdk::Str(query), nullptr, 0, sdk::Str(body),
                          sdk::Str(remote)};
    chub_inbound_sink sink{};
    sink.ctx = &out;
    sink.payload = [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str b) {
      static_cast<Outcome*>(ctx)->payloads.push_back(
          {std::string(sdk::View(id)), std::string(sdk::View(kind)), std::string(sdk::View(ct)),
           std::string(sdk::View(b))});
    };
    sink.respond = [](void* ctx, int status, chub_str ct, chub_str b) {
      auto* o = static_cast<Outcome*>(ctx);
      o->responded = true;
      o->status = status;
      o->content_type = std::string(sdk::View(ct));
      o->body = std::string(sdk::View(b));
    };
    sink.reject = [](void* ctx, int status, chub_str reason) {
      auto* o = static_cast<Outcome*>(ctx);
      o->rejected = true;
      o->status = status;
      o->reason = std::string(sdk::View(reason));
    };
    c_.inbound(self_, &req, &sink);
    return out;
  }

  static chub_request_sink RequestSink(Built* b) {
    chub_request_sink sink{};
    sink.ctx = b;
    sink.request = [](void* ctx, chub_str m, chub_str t, const chub_kv*, size_t, chub_str body) {
      auto* o = static_cast<Built*>(ctx);
      o->ok = true;
      o->method = std::string(sdk::View(m));
      o->target = std::string(sdk::View(t));
      o->body = std::string(sdk::View(body));
    };
    sink.fail = [](void* ctx, chub_str r) { static_cast<Built*>(ctx)->reason = std::string(sdk::View(r)); };
    return sink;
  }

  Built BuildToken() {
    Built b;
    chub_request_sink sink = RequestSink(&b);
    c_.build_token(self_, &sink);
    return b;
  }
  Built BuildPoll(const std::string& cursor, const std::string& token) {
    Built b;
    chub_request_sink sink = RequestSink(&b);
    c_.build_poll(self_, sdk::Str(cursor), sdk::Str(token), &sink);
    return b;
  }

  struct TokenOut {
    bool ok = false;
    std::string token, message;
    int64_t expires_in_ms = 0;
  };
  TokenOut ParseToken(int status, const std::string& body) {
    TokenOut t;
    chub_http_response r{status, nullptr, 0, sdk::Str(body)};
    chub_token_sink sink{};
    sink.ctx = &t;
    sink.token = [](void* ctx, chub_str tok, int64_t ms) {
      auto* o = static_cast<TokenOut*>(ctx);
      o->ok = true;
      o->token = std::string(sdk::View(tok));
      o->expires_in_ms = ms;
    };
    sink.fail = [](void* ctx, chub_str m) { static_cast<TokenOut*>(ctx)->message = std::string(sdk::View(m)); };
    c_.parse_token(self_, &r, &sink);
    return t;
  }

  struct PollOut {
    std::vector<std::vector<std::string>> payloads;
    std::string cursor, message;
    int more = -1;
    int fail = -1;
  };
  PollOut ParsePoll(const std::string& cursor, int status, const std::string& body) {
    PollOut p;
    chub_http_response r{status, nullptr, 0, sdk::Str(body)};
    chub_poll_sink sink{};
    sink.ctx = &p;
    sink.payload = [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str b) {
      static_cast<PollOut*>(ctx)->payloads.push_back({std::string(sdk::View(id)), std::string(sdk::View(kind)),
                                                      std::string(sdk::View(ct)), std::string(sdk::View(b))});
    };
    sink.cursor = [](void* ctx, chub_str c, int more) {
      auto* o = static_cast<PollOut*>(ctx);
      o->cursor = std::string(sdk::View(c));
      o->more = more;
    };
    sink.fail = [](void* ctx, int v, chub_str m) {
      auto* o = static_cast<PollOut*>(ctx);
      o->fail = v;
      o->message = std::string(sdk::View(m));
    };
    c_.parse_poll(self_, sdk::Str(cursor), &r, &sink);
    return p;
  }

 private:
  const chub_connector& c_;
  chub_host host_{};
  void* self_ = nullptr;
  std::string error_;
};

KV SettingsA(KV extra = {}) {
  KV kv = {{"token", kTokenA}, {"encoding_aes_key", kKeyA}, {"corp_id", kCorpA}, {"secret", "s3cr/t+x"},
           {"api_url", "http://127.0.0.1:9/"}};
  for (auto& e : extra) kv.push_back(std::move(e));
  return kv;
}

std::string Query(const std::string& sig, const std::string& ts, const std::string& nonce,
                  const std::string& echostr = "") {
  std::string q = "msg_signature=" + sdk::UrlEncode(sig) + "&timestamp=" + ts + "&nonce=" + nonce;
  if (!echostr.empty()) q += "&echostr=" + sdk::UrlEncode(echostr);
  return q;
}

std::string Envelope(const std::string& encrypt) {
  return "<xml><ToUserName><![CDATA[" + std::string(kCorpA) + "]]></ToUserName><Encrypt><![CDATA[" + encrypt +
         "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
}

rapidjson::Document Json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  return d;
}

// ---------------------------------------------------------------------------------------------
// Official vectors

TEST(WecomCrypto, VectorW1SignatureDecryptAndDeterministicEncrypt) {
  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  EXPECT_EQ(cc::HexLower(c.key()), "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760");
  EXPECT_EQ(c.Sign("1409659589", "263014780", kW1Echo), "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3");
  EXPECT_TRUE(c.Verify("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", kW1Echo));
  std::string msg;
  ASSERT_EQ(c.Decrypt(kW1Echo, &msg), wc::CryptError::kNone);
  EXPECT_EQ(msg, "1616140317555161061");
  EXPECT_EQ(c.Encrypt("1616140317555161061", "c41b64491c2468d0"), kW1Echo);
}

TEST(WecomCrypto, VectorW2MessageWith32BytePadding) {
  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  EXPECT_EQ(c.Sign("1409659813", "1372623149", kW2Encrypt), "477715d11cdb4164915debcba66cb864d751f3e6");
  std::string msg;
  ASSERT_EQ(c.Decrypt(kW2Encrypt, &msg), wc::CryptError::kNone);
  EXPECT_EQ(msg, kW2Plain);
  EXPECT_EQ(c.Encrypt(kW2Plain, "0960688932c47ef1"), kW2Encrypt);
  std::string cipher;
  ASSERT_TRUE(cc::Base64Decode(kW2Encrypt, &cipher));
  EXPECT_EQ(cipher.size(), 352u);  // 322 bytes padded with 30: a 16-byte PKCS#7 would give 336
}

TEST(WecomCrypto, VectorsW3W4WithUtf8Content) {
  wc::MsgCrypt c(kTokenB, kKeyB, kCorpB);
  EXPECT_EQ(cc::HexLower(c.key()), "eaa91d32babaf274ca76ece72583b5037ed6da8120a64314be4b6d453a2a854b");
  EXPECT_EQ(c.Sign("1476416373", "47744683", kW3Echo), "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb");
  std::string echo;
  ASSERT_EQ(c.Decrypt(kW3Echo, &echo), wc::CryptError::kNone);
  EXPECT_EQ(echo, "1288432023552776189");
  EXPECT_EQ(c.Sign("1476422779", "1597212914", kW4Encrypt), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e");
  std::string msg;
  ASSERT_EQ(c.Decrypt(kW4Encrypt, &msg), wc::CryptError::kNone);
  EXPECT_EQ(msg, kW4Plain);
  EXPECT_EQ(msg.size(), 228u);
  // A message of set B does not open under set A's receiveid.
  wc::MsgCrypt wrong_rid(kTokenB, kKeyB, "wwXXXX");
  EXPECT_EQ(wrong_rid.Decrypt(kW4Encrypt, &msg), wc::CryptError::kReceiveId);
}

TEST(WecomCrypto, SignatureSortsBytewiseNotNumerically) {
  // W1 sorts "1409659589" < "263014780" < "P9n..." < "QDG6eK": any order of the inputs gives it.
  EXPECT_EQ(wc::MsgSignature("263014780", kW1Echo, kTokenA, "1409659589"),
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3");
  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  EXPECT_TRUE(c.Verify("5C45FF5E21C57E6AD56BAC8758B79B1D9AC89FD3", "1409659589", "263014780", kW1Echo));
  EXPECT_FALSE(c.Verify("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014781", kW1Echo));
  EXPECT_FALSE(c.Verify("", "1409659589", "263014780", kW1Echo));
  EXPECT_FALSE(c.Verify(c.Sign("1409659589", "", kW1Echo), "1409659589", "", kW1Echo));
}

TEST(WecomCrypto, RoundTripForRandomKeysAndMessages) {
  std::mt19937 rng(20261130);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int round = 0; round < 200; ++round) {
    std::string key;
    for (int i = 0; i < 42; ++i) key.push_back(alphabet[rng() % 64]);
    key.push_back("AQgw"[rng() % 4]);  // the last character carries 2 bits of the key
    std::string rid = "ww" + std::to_string(rng());
    wc::MsgCrypt c("tok" + std::to_string(round), key, rid);
    std::string msg(rng() % 300, '\0');
    for (char& ch : msg) ch = static_cast<char>(rng() & 0xFF);
    std::string random(16, '\0');
    for (char& ch : random) ch = static_cast<char>(rng() & 0xFF);
    const std::string enc = c.Encrypt(msg, random);
    std::string cipher;
    ASSERT_TRUE(cc::Base64Decode(enc, &cipher));
    EXPECT_EQ(cipher.size() % 32, 0u);
    std::string back;
    ASSERT_EQ(c.Decrypt(enc, &back), wc::CryptError::kNone) << round;
    EXPECT_EQ(back, msg);
    EXPECT_TRUE(c.Verify(c.Sign("1700000000", "42", enc), "1700000000", "42", enc));
  }
}

TEST(WecomCrypto, RefusesBadKeysAndTamperedMessages) {
  EXPECT_THROW(wc::MsgCrypt(kTokenA, "short", kCorpA), sdk::Failure);
  EXPECT_THROW(wc::MsgCrypt(kTokenA, std::string(kKeyA) + "=", kCorpA), sdk::Failure);
  EXPECT_THROW(wc::MsgCrypt(kTokenA, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2!", kCorpA), sdk::Failure);
  EXPECT_THROW(wc::MsgCrypt("", kKeyA, kCorpA), sdk::Failure);
  EXPECT_THROW(wc::MsgCrypt(kTokenA, kKeyA, ""), sdk::Failure);

  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  std::string msg;
  // Not Base64 (what a missing URL-decode does to '+'), a truncated block, garbage.
  std::string spaced = kW1Echo;
  for (char& ch : spaced) {
    if (ch == '+') ch = ' ';
  }
  EXPECT_EQ(c.Decrypt(spaced, &msg), wc::CryptError::kBase64);
  EXPECT_EQ(c.Decrypt("", &msg), wc::CryptError::kBase64);
  EXPECT_EQ(c.Decrypt(cc::Base64Encode(std::string(20, 'x')), &msg), wc::CryptError::kCipher);
  // A flipped bit in the last block breaks the padding (or the receiveid).
  std::string cipher;
  ASSERT_TRUE(cc::Base64Decode(kW2Encrypt, &cipher));
  cipher[cipher.size() - 1] = static_cast<char>(cipher.back() ^ 0x01);
  EXPECT_NE(c.Decrypt(cc::Base64Encode(cipher), &msg), wc::CryptError::kNone);
  // Another corp's key.
  wc::MsgCrypt other(kTokenA, kKeyB, kCorpA);
  EXPECT_NE(other.Decrypt(kW2Encrypt, &msg), wc::CryptError::kNone);
  // Wrong receiveid.
  wc::MsgCrypt wrong(kTokenA, kKeyA, "wx5823bf96d3bd56c8");
  EXPECT_EQ(wrong.Decrypt(kW2Encrypt, &msg), wc::CryptError::kReceiveId);
}

// Plaintexts encrypted by hand with a chosen (bad) padding or length field.
std::string Raw(const wc::MsgCrypt& c, const std::string& plain) {
  std::string cipher;
  EXPECT_TRUE(cc::Aes256CbcEncrypt(c.key(), c.key().substr(0, 16), plain, &cipher));
  return cc::Base64Encode(cipher);
}

std::string Layout(uint32_t length_field, const std::string& msg, const std::string& rid) {
  std::string p(16, 'r');
  p.push_back(static_cast<char>(length_field >> 24));
  p.push_back(static_cast<char>((length_field >> 16) & 0xFF));
  p.push_back(static_cast<char>((length_field >> 8) & 0xFF));
  p.push_back(static_cast<char>(length_field & 0xFF));
  return p + msg + rid;
}

TEST(WecomCrypto, RefusesBadPaddingAndLengthFields) {
  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  std::string msg;
  const std::string base = Layout(5, "hello", kCorpA);  // 16+4+5+18 = 43 bytes
  ASSERT_EQ(base.size(), 43u);
  // Valid: 21 bytes of 21.
  EXPECT_EQ(c.Decrypt(Raw(c, base + std::string(21, '\x15')), &msg), wc::CryptError::kNone);
  EXPECT_EQ(msg, "hello");
  // A pad byte of 0, of 33, and pad bytes that disagree.
  EXPECT_EQ(c.Decrypt(Raw(c, base + std::string(20, '\x15') + '\0'), &msg), wc::CryptError::kPadding);
  EXPECT_EQ(c.Decrypt(Raw(c, Layout(5, "hello", kCorpA) + std::string(37, '\x21')), &msg),
            wc::CryptError::kPadding);
  EXPECT_EQ(c.Decrypt(Raw(c, base + std::string(20, '\x14') + '\x15'), &msg), wc::CryptError::kPadding);
  // A length field past the end, and a plaintext too short to hold one.
  EXPECT_EQ(c.Decrypt(Raw(c, Layout(500, "hello", kCorpA) + std::string(21, '\x15')), &msg),
            wc::CryptError::kLength);
  EXPECT_EQ(c.Decrypt(Raw(c, std::string(10, 'r') + std::string(22, '\x16')), &msg), wc::CryptError::kLength);
  // A length field one too long eats a byte of the receiveid: the receiveid no longer matches.
  EXPECT_EQ(c.Decrypt(Raw(c, Layout(6, "hello", kCorpA) + std::string(21, '\x15')), &msg),
            wc::CryptError::kReceiveId);
}

// ---------------------------------------------------------------------------------------------
// Callback messages

TEST(WecomCallback, AddExternalContactBecomesAnEventWithTheFields) {
  wc::CallbackMessage m;
  std::string error;
  ASSERT_TRUE(wc::ParseCallback(
      Event("add_external_contact",
            "<State><![CDATA[teststate]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>"),
      &m, &error))
      << error;
  EXPECT_EQ(m.kind, "external_contact.add_external_contact");
  rapidjson::Document d = Json(m.json);
  ASSERT_TRUE(d.IsObject()) << m.json;
  EXPECT_STREQ(d["ChangeType"].GetString(), "add_external_contact");
  EXPECT_STREQ(d["ExternalUserID"].GetString(), "woAJ2GCAAAXtWyujaWJHDDGi0mACH71w");
  EXPECT_STREQ(d["UserID"].GetString(), "zhangsan");
  EXPECT_STREQ(d["State"].GetString(), "teststate");
  EXPECT_STREQ(d["WelcomeCode"].GetString(), "WELCOMECODE");
  EXPECT_EQ(d["CreateTime"].GetInt64(), 1403610513);
  EXPECT_FALSE(d.HasMember("churn"));
  EXPECT_EQ(m.event_id.rfind("wecom-ec-", 0), 0u);
}

TEST(WecomCallback, DeleteByTransferIsNoChurn) {
  auto churn = [](const std::string& xml) -> std::string {
    wc::CallbackMessage m;
    std::string error;
    if (!wc::ParseCallback(xml, &m, &error)) return "error: " + error;
    rapidjson::Document d = Json(m.json);
    if (!d.HasMember("churn")) return "absent";
    return d["churn"].GetBool() ? "true" : "false";
  };
  EXPECT_EQ(churn(Event("del_external_contact", "<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>")), "false");
  EXPECT_EQ(churn(Event("del_external_contact")), "true");
  EXPECT_EQ(churn(Event("del_follow_user")), "true");
  EXPECT_EQ(churn(Event("transfer_fail", "<FailReason><![CDATA[customer_refused]]></FailReason>")), "absent");
  EXPECT_EQ(churn(Event("edit_external_contact")), "absent");
  EXPECT_EQ(wc::ChurnOf("del_external_contact", " DELETE_BY_TRANSFER "), false);
}

TEST(WecomCallback, EventIdIsStableAcrossRedeliveriesAndDiffersPerChange) {
  auto id = [](const std::string& xml) {
    wc::CallbackMessage m;
    std::string error;
    EXPECT_TRUE(wc::ParseCallback(xml, &m, &error)) << error;
    return m.event_id;
  };
  const std::string a = id(Event("add_external_contact", "<State>x</State>"));
  // A redelivery: the same message (whatever the envelope's timestamp and nonce, and spacing).
  EXPECT_EQ(id(Event("add_external_contact", "<State>x</State>")), a);
  EXPECT_EQ(id(Event("add_external_contact", "<State> x</State>\n")), a);
  EXPECT_NE(id(Event("edit_external_contact")), a);
  EXPECT_NE(id(Event("add_external_contact", "", "1403610514")), a);
  // Messages: by MsgId.
  EXPECT_EQ(id(kW2Plain).rfind("wecom-msg-", 0), 0u);
}

TEST(WecomCallback, RefusesWhatIsNotAWecomMessage) {
  wc::CallbackMessage m;
  std::string error;
  EXPECT_FALSE(wc::ParseCallback("not xml", &m, &error));
  EXPECT_FALSE(wc::ParseCallback("<root><MsgType>text</MsgType></root>", &m, &error));
  EXPECT_FALSE(wc::ParseCallback("<xml><ToUserName>x</ToUserName></xml>", &m, &error));
  EXPECT_FALSE(wc::ParseCallback(
      "<xml><MsgType>event</MsgType><Event>change_external_contact</Event><UserID>u</UserID></xml>", &m, &error));
  ASSERT_TRUE(wc::ParseCallback(kW4Plain, &m, &error));
  EXPECT_EQ(m.kind, "message.text");
  EXPECT_EQ(m.Get("Content"), "你好");
}

// ---------------------------------------------------------------------------------------------
// The connector through the ABI

TEST(WecomConnector, RefusesBadSettings) {
  Instance ok("wecom", SettingsA());
  ASSERT_TRUE(ok.ok()) << ok.error();
  Instance no_key("wecom", {{"token", kTokenA}, {"corp_id", kCorpA}});
  EXPECT_FALSE(no_key.ok());
  EXPECT_NE(no_key.error().find("encoding_aes_key"), std::string::npos);
  Instance bad_key("wecom", {{"token", kTokenA}, {"corp_id", kCorpA}, {"encoding_aes_key", "abc"}});
  EXPECT_FALSE(bad_key.ok());
  Instance ftp("wecom", {{"token", kTokenA}, {"encoding_aes_key", kKeyA}, {"corp_id", kCorpA}, {"api_url", "ftp://x"}});
  EXPECT_FALSE(ftp.ok());
}

TEST(WecomConnector, UrlVerificationAnswersThePlaintextEchostr) {
  Instance w("wecom", SettingsA());
  ASSERT_TRUE(w.ok()) << w.error();
  // As WeCom sends it: percent-encoded.
  Outcome o = w.Inbound("GET",
                        "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=" +
                            std::string(kW1EchoEncoded),
                        "");
  ASSERT_TRUE(o.responded) << o.reason;
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "1616140317555161061");
  EXPECT_EQ(o.content_type.rfind("text/plain", 0), 0u);
  EXPECT_TRUE(o.payloads.empty());

  // A wrong signature, a missing parameter, an echostr whose '+' became spaces (not decoded).
  Outcome bad = w.Inbound("GET", Query("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", "1409659589", "263014780", kW1Echo), "");
  EXPECT_TRUE(bad.rejected);
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.reason, "invalid signature");
  Outcome missing = w.Inbound("GET", "timestamp=1409659589&nonce=263014780&echostr=" + std::string(kW1EchoEncoded), "");
  EXPECT_TRUE(missing.rejected);
  EXPECT_EQ(missing.status, 400);
  std::string raw_plus = std::string("msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=") + kW1Echo;
  Outcome plus = w.Inbound("GET", raw_plus, "");
  EXPECT_TRUE(plus.rejected);
  EXPECT_EQ(plus.status, 401);
  // Set A's echostr signed correctly but under a connector for another corp.
  Instance corp_b("wecom", {{"token", kTokenA}, {"encoding_aes_key", kKeyA}, {"corp_id", "wwOTHER"}});
  ASSERT_TRUE(corp_b.ok()) << corp_b.error();
  Outcome rid = corp_b.Inbound("GET", Query("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", kW1Echo), "");
  EXPECT_TRUE(rid.rejected);
  EXPECT_EQ(rid.status, 401);
  EXPECT_EQ(rid.reason, "invalid message");
  Outcome put = w.Inbound("PUT", "", "");
  EXPECT_TRUE(put.rejected);
  EXPECT_EQ(put.status, 405);
}

TEST(WecomConnector, CallbackIsJournaledAndAnsweredSuccess) {
  Instance w("wecom", SettingsA());
  ASSERT_TRUE(w.ok()) << w.error();
  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  const std::string xml = Event("del_external_contact", "<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>");
  const std::string enc1 = c.Encrypt(xml, "0123456789abcdef");
  Outcome first = w.Inbound("POST", Query(c.Sign("1700000001", "111", enc1), "1700000001", "111"), Envelope(enc1));
  ASSERT_TRUE(first.responded) << first.reason;
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "success");
  ASSERT_EQ(first.payloads.size(), 1u);
  EXPECT_EQ(first.payloads[0][1], "external_contact.del_external_contact");
  EXPECT_EQ(first.payloads[0][2], "application/json");
  rapidjson::Document d = Json(first.payloads[0][3]);
  ASSERT_TRUE(d.IsObject());
  EXPECT_FALSE(d["churn"].GetBool());

  // WeCom's retry: a new envelope (new random prefix, timestamp, nonce), the same message.
  const std::string enc2 = c.Encrypt(xml, "fedcba9876543210");
  ASSERT_NE(enc1, enc2);
  Outcome again = w.Inbound("POST", Query(c.Sign("1700000006", "222", enc2), "1700000006", "222"), Envelope(enc2));
  ASSERT_EQ(again.payloads.size(), 1u) << again.reason;
  EXPECT_EQ(again.payloads[0][0], first.payloads[0][0]);

  // The JSON-callback flavour.
  Outcome json = w.Inbound("POST", Query(c.Sign("1700000001", "111", enc1), "1700000001", "111"),
                           "{\"tousername\":\"" + std::string(kCorpA) + "\",\"encrypt\":\"" + enc1 + "\",\"agentid\":\"218\"}");
  ASSERT_EQ(json.payloads.size(), 1u) << json.reason;
  EXPECT_EQ(json.payloads[0][0], first.payloads[0][0]);
}

TEST(WecomConnector, TamperedOrUnsignedCallbacksAreRefused) {
  Instance w("wecom", SettingsA());
  ASSERT_TRUE(w.ok()) << w.error();
  wc::MsgCrypt c(kTokenA, kKeyA, kCorpA);
  const std::string enc = c.Encrypt(Event("add_external_contact"), "0123456789abcdef");
  const std::string sig = c.Sign("1700000001", "111", enc);
  // One character of the ciphertext changed.
  std::string tampered = enc;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  Outcome t = w.Inbound("POST", Query(sig, "1700000001", "111"), Envelope(tampered));
  EXPECT_TRUE(t.rejected);
  EXPECT_EQ(t.status, 401);
  EXPECT_TRUE(t.payloads.empty());
  // The nonce changed.
  Outcome n = w.Inbound("POST", Query(sig, "1700000001", "112"), Envelope(enc));
  EXPECT_EQ(n.status, 401);
  // Signed correctly by someone with the token but another key/receiveid: decrypt refuses.
  wc::MsgCrypt foreign(kTokenA, kKeyA, "wwFOREIGN");
  const std::string fenc = foreign.Encrypt(Event("add_external_contact"), "0123456789abcdef");
  Outcome f = w.Inbound("POST", Query(foreign.Sign("1", "2", fenc), "1", "2"), Envelope(fenc));
  EXPECT_TRUE(f.rejected);
  EXPECT_EQ(f.status, 401);
  EXPECT_EQ(f.reason, "invalid message");
  // Signed and encrypted, but not a message.
  const std::string junk = c.Encrypt("<html/>", "0123456789abcdef");
  Outcome j = w.Inbound("POST", Query(c.Sign("1", "2", junk), "1", "2"), Envelope(junk));
  EXPECT_TRUE(j.rejected);
  EXPECT_EQ(j.status, 400);
  // No Encrypt element; no signature.
  EXPECT_EQ(w.Inbound("POST", Query(sig, "1700000001", "111"), "<xml></xml>").status, 400);
  EXPECT_EQ(w.Inbound("POST", "timestamp=1&nonce=2", Envelope(enc)).status, 400);
}

// ---------------------------------------------------------------------------------------------
// Tokens and the API

TEST(WecomApi, GettokenRequestAndAnswers) {
  Instance w("wecom", SettingsA());
  ASSERT_TRUE(w.ok()) << w.error();
  Built b = w.BuildToken();
  ASSERT_TRUE(b.ok) << b.reason;
  EXPECT_EQ(b.method, "GET");
  EXPECT_EQ(b.target, "http://127.0.0.1:9/cgi-bin/gettoken?corpid=wx5823bf96d3bd56c7&corpsecret=s3cr%2Ft%2Bx");

  auto t = w.ParseToken(200, R"({"errcode":0,"errmsg":"ok","access_token":"AT-1","expires_in":7200})");
  ASSERT_TRUE(t.ok) << t.message;
  EXPECT_EQ(t.token, "AT-1");
  EXPECT_EQ(t.expires_in_ms, 7200000);
  auto refused = w.ParseToken(200, R"({"errcode":40001,"errmsg":"invalid credential"})");
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.message.find("40001"), std::string::npos);
  EXPECT_NE(refused.message.find("invalid credential"), std::string::npos);
  EXPECT_FALSE(w.ParseToken(500, "busy").ok);
  EXPECT_FALSE(w.ParseToken(200, "<html/>").ok);
  EXPECT_FALSE(w.ParseToken(200, R"({"errcode":0,"expires_in":7200})").ok);

  Instance no_secret("wecom", {{"token", kTokenA}, {"encoding_aes_key", kKeyA}, {"corp_id", kCorpA}});
  ASSERT_TRUE(no_secret.ok()) << no_secret.error();
  Built nb = no_secret.BuildToken();
  EXPECT_FALSE(nb.ok);
  EXPECT_NE(nb.reason.find("secret"), std::string::npos);
  EXPECT_EQ(wc::api::GetTokenRequest(wc::kDefaultApiUrl, "ww1", "x").target,
            "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=x");
}

TEST(WecomApi, VerdictsOnErrorCodes) {
  auto judge = [](int status, const std::string& body) {
    sdk::Response r;
    r.status = status;
    r.body = body;
    return wc::api::JudgeApiResponse(r).kind;
  };
  EXPECT_EQ(judge(200, R"({"errcode":0,"errmsg":"ok"})"), CHUB_VERDICT_DONE);
  EXPECT_EQ(judge(200, R"({"errcode":42001,"errmsg":"access_token expired"})"), CHUB_VERDICT_TOKEN_EXPIRED);
  EXPECT_EQ(judge(200, R"({"errcode":40014,"errmsg":"invalid access_token"})"), CHUB_VERDICT_TOKEN_EXPIRED);
  EXPECT_EQ(judge(200, R"({"errcode":40001,"errmsg":"invalid credential"})"), CHUB_VERDICT_TOKEN_EXPIRED);
  EXPECT_EQ(judge(200, R"({"errcode":-1,"errmsg":"system busy"})"), CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(200, R"({"errcode":45009,"errmsg":"api freq out of limit"})"), CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(200, R"({"errcode":84061,"errmsg":"not external contact"})"), CHUB_VERDICT_PERMANENT);
  EXPECT_EQ(judge(502, ""), CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(403, ""), CHUB_VERDICT_PERMANENT);
  EXPECT_EQ(judge(200, "<html>"), CHUB_VERDICT_RETRY);
  EXPECT_FALSE(wc::api::IsTokenExpiredCode(0));
  EXPECT_FALSE(wc::api::IsTokenExpiredCode(40013));
}

TEST(WecomApi, ExternalContactGetRequestAndAnswer) {
  sdk::OutRequest r = wc::api::ExternalContactGetRequest("https://qyapi.weixin.qq.com", "A T", "wo+1", "C/2");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target,
            "https://qyapi.weixin.qq.com/cgi-bin/externalcontact/get?access_token=A%20T&external_userid=wo%2B1&cursor=C%2F2");
  EXPECT_THROW(wc::api::ExternalContactGetRequest("https://x", "t", ""), sdk::Failure);
  wc::api::ContactDocument d = wc::api::ParseExternalContact(
      R"({"errcode":0,"errmsg":"ok","external_contact":{"external_userid":"woA","name":"李四","unionid":"oz1"},)"
      R"("follow_user":[{"userid":"rocky","remark_mobiles":["13800000001"],"tags":[{"tag_name":"VIP"}]}],"next_cursor":"N"})");
  EXPECT_EQ(d.external_userid, "woA");
  EXPECT_EQ(d.next_cursor, "N");
  rapidjson::Document j = Json(d.json);
  EXPECT_STREQ(j["external_contact"]["name"].GetString(), "李四");
  EXPECT_THROW(wc::api::ParseExternalContact(R"({"errcode":84061,"errmsg":"not external contact"})"), sdk::Failure);
  EXPECT_THROW(wc::api::ParseExternalContact(R"({"errcode":0,"external_contact":{}})"), sdk::Failure);
}

TEST(WecomContacts, SyncsPagesOfIdsThenFetchesEachCustomer) {
  KV s = {{"corp_id", kCorpA}, {"secret", "sec"}, {"userids", "rocky, tommy"}, {"api_url", "http://sim:1"},
          {"page_size", "50"}};
  Instance p("wecom_contacts", s);
  ASSERT_TRUE(p.ok()) << p.error();

  // 1. The first page of ids.
  Built b = p.BuildPoll("", "TOK");
  ASSERT_TRUE(b.ok) << b.reason;
  EXPECT_EQ(b.method, "POST");
  EXPECT_EQ(b.target, "http://sim:1/cgi-bin/externalcontact/batch/get_by_user?access_token=TOK");
  rapidjson::Document body = Json(b.body);
  ASSERT_TRUE(body.IsObject()) << b.body;
  EXPECT_EQ(body["userid_list"].Size(), 2u);
  EXPECT_STREQ(body["userid_list"][1].GetString(), "tommy");
  EXPECT_STREQ(body["cursor"].GetString(), "");
  EXPECT_EQ(body["limit"].GetInt(), 50);
  const std::string page =
      R"({"errcode":0,"errmsg":"ok","external_contact_list":[)"
      R"({"external_contact":{"external_userid":"woA","name":"李四"},"follow_info":{"userid":"rocky","tag_id":["et1"]}},)"
      R"({"external_contact":{"external_userid":"woB","name":"王芳"},"follow_info":{"userid":"rocky"}},)"
      R"({"external_contact":{"external_userid":"woA","name":"李四"},"follow_info":{"userid":"tommy"}}],"next_cursor":"P2"})";
  auto ids = p.ParsePoll("", 200, page);
  ASSERT_EQ(ids.fail, -1) << ids.message;
  EXPECT_TRUE(ids.payloads.empty());
  EXPECT_EQ(ids.more, 1);
  wc::api::SyncCursor c;
  ASSERT_TRUE(wc::api::ParseSyncCursor(ids.cursor, &c)) << ids.cursor;
  EXPECT_EQ(c.page, "P2");
  EXPECT_EQ(c.queue, (std::vector<std::string>{"woA", "woB"}));

  // 2. externalcontact/get for the first queued customer: journaled as it came.
  Built g = p.BuildPoll(ids.cursor, "TOK");
  ASSERT_TRUE(g.ok) << g.reason;
  EXPECT_EQ(g.method, "GET");
  EXPECT_EQ(g.target, "http://sim:1/cgi-bin/externalcontact/get?access_token=TOK&external_userid=woA");
  const std::string contact =
      R"({"errcode":0,"errmsg":"ok","external_contact":{"external_userid":"woA","name":"李四","unionid":"oz1"},)"
      R"("follow_user":[{"userid":"rocky","remark_mobiles":["13800000001"],"tags":[{"tag_name":"VIP","tag_id":"et1","type":1}]}]})";
  auto got = p.ParsePoll(ids.cursor, 200, contact);
  ASSERT_EQ(got.fail, -1) << got.message;
  ASSERT_EQ(got.payloads.size(), 1u);
  EXPECT_EQ(got.payloads[0][1], "externalcontact.get");
  rapidjson::Document d = Json(got.payloads[0][3]);
  EXPECT_STREQ(d["follow_user"][0]["tags"][0]["tag_name"].GetString(), "VIP");
  ASSERT_TRUE(wc::api::ParseSyncCursor(got.cursor, &c));
  EXPECT_EQ(c.queue, std::vector<std::string>{"woB"});
  EXPECT_EQ(got.more, 1);
  // The same answer again: the same id (the inbox drops it); a changed answer: a new id.
  EXPECT_EQ(p.ParsePoll(ids.cursor, 200, contact).payloads[0][0], got.payloads[0][0]);
  std::string changed = contact;
  changed.replace(changed.find("李四"), std::string("李四").size(), "李四四");
  EXPECT_NE(p.ParsePoll(ids.cursor, 200, changed).payloads[0][0], got.payloads[0][0]);

  // 3. A customer gone meanwhile is skipped; an expired token is reported as such.
  auto gone = p.ParsePoll(got.cursor, 200, R"({"errcode":84061,"errmsg":"not external contact"})");
  EXPECT_EQ(gone.fail, -1);
  EXPECT_TRUE(gone.payloads.empty());
  ASSERT_TRUE(wc::api::ParseSyncCursor(gone.cursor, &c));
  EXPECT_TRUE(c.queue.empty());
  EXPECT_EQ(c.page, "P2");
  EXPECT_EQ(p.ParsePoll(got.cursor, 200, R"({"errcode":42001,"errmsg":"access_token expired"})").fail,
            CHUB_VERDICT_TOKEN_EXPIRED);
  auto empty = p.ParsePoll(got.cursor, 200, R"({"errcode":0,"errmsg":"ok"})");
  EXPECT_EQ(empty.fail, -1);
  EXPECT_TRUE(empty.payloads.empty());
  EXPECT_EQ(empty.cursor, gone.cursor);

  // 4. The last page: an empty cursor once its queue is done.
  Built next = p.BuildPoll(gone.cursor, "TOK");
  EXPECT_NE(next.body.find("\"cursor\":\"P2\""), std::string::npos) << next.body;
  auto last = p.ParsePoll(gone.cursor, 200, R"({"errcode":0,"errmsg":"ok","external_contact_list":[],"next_cursor":""})");
  EXPECT_EQ(last.cursor, "");
  EXPECT_EQ(last.more, 0);
  EXPECT_EQ(p.ParsePoll("", 200, R"({"errcode":42001,"errmsg":"access_token expired"})").fail,
            CHUB_VERDICT_TOKEN_EXPIRED);
  EXPECT_EQ(p.ParsePoll("", 503, "").fail, CHUB_VERDICT_RETRY);
  EXPECT_EQ(p.ParsePoll("", 200, R"({"errcode":60011,"errmsg":"no privilege"})").fail, CHUB_VERDICT_PERMANENT);
  // A cursor from elsewhere starts a new sync instead of failing for ever.
  Built fresh = p.BuildPoll("garbage", "TOK");
  EXPECT_EQ(fresh.method, "POST");

  Instance none("wecom_contacts", {{"corp_id", kCorpA}, {"secret", "sec"}, {"userids", " , "}});
  EXPECT_FALSE(none.ok());
  Instance big("wecom_contacts", {{"corp_id", kCorpA}, {"secret", "sec"}, {"userids", "a"}, {"page_size", "101"}});
  EXPECT_FALSE(big.ok());
}

}  // namespace
