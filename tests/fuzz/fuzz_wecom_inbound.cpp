// libFuzzer target: WeCom callbacks through the connector's C ABI, as the hub calls it. The input
// is "query\nbody" (first line: the query string, the rest: the body) and goes in three ways:
//  1. as sent, GET and POST: signature checks must refuse garbage without crashing;
//  2. the body as a ciphertext straight into MsgCrypt::Open (Base64, AES, PKCS#7, length field);
//  3. the body as a plaintext, encrypted and signed with the connector's own keys, so that it gets
//     past the signature: once as the message (the event XML/JSON parser) in a POST envelope and
//     as a GET echostr, and once as the raw decrypted layout (random | length | message | receiveid).
#include <channelhub/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/common/crypto.hpp"
#include "connectors/wecom/wecom.hpp"
#include "connectors/wecom/wecom_crypto.hpp"

namespace sdk = channelhub::sdk;
namespace wc = channelhub::connectors::wecom;

namespace {

// The official sample's keys (protocols.md, vector W1).
constexpr const char* kToken = "QDG6eK";
constexpr const char* kKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
constexpr const char* kCorp = "wx5823bf96d3bd56c7";

const chub_connector& Connector() {
  static const chub_connector connector =
      sdk::Describe<wc::Wecom>("wecom", "fuzz", CHUB_CAP_INBOUND | CHUB_CAP_TOKEN, wc::Wecom::kSettings);
  return connector;
}

void* Instance() {
  static void* instance = [] {
    static const chub_kv kv[] = {{sdk::Str("token"), sdk::Str(kToken)},
                                 {sdk::Str("encoding_aes_key"), sdk::Str(kKey)},
                                 {sdk::Str("corp_id"), sdk::Str(kCorp)},
                                 {sdk::Str("secret"), sdk::Str("not-used")}};
    static const chub_settings settings{kv, 4};
    static const chub_host host{CHUB_PLUGIN_ABI_VERSION, nullptr, nullptr, nullptr, nullptr};
    char error[256];
    void* p = Connector().create(&host, &settings, error, sizeof error);
    if (!p) __builtin_trap();
    return p;
  }();
  return instance;
}

void Inbound(const char* method, std::string_view query, std::string_view body) {
  chub_http_request req{sdk::Str(method), sdk::Str("/webhooks/wecom"), sdk::Str(query), nullptr, 0, sdk::Str(body),
                        sdk::Str("127.0.0.1")};
  chub_inbound_sink sink{nullptr, [](void*, chub_str, chub_str, chub_str, chub_str) {},
                         [](void*, int, chub_str, chub_str) {}, [](void*, int, chub_str) {}};
  Connector().inbound(Instance(), &req, &sink);
}

std::string SignedQuery(const wc::MsgCrypt& crypt, const std::string& encrypted) {
  return "msg_signature=" + crypt.Sign("1700000001", "111", encrypted) + "&timestamp=1700000001&nonce=111";
}

void PostSigned(const wc::MsgCrypt& crypt, const std::string& encrypted) {
  const std::string xml = "<xml><ToUserName><![CDATA[" + std::string(kCorp) + "]]></ToUserName><Encrypt><![CDATA[" +
                          encrypted + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
  Inbound("POST", SignedQuery(crypt, encrypted), xml);
  const std::string json = "{\"tousername\":\"" + std::string(kCorp) + "\",\"encrypt\":\"" + encrypted +
                           "\",\"agentid\":\"218\"}";
  Inbound("POST", SignedQuery(crypt, encrypted), json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const wc::MsgCrypt crypt(kToken, kKey, kCorp);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  const std::string_view query = in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  // 1. As sent.
  Inbound("GET", query, body);
  Inbound("POST", query, body);

  // 2. The body as a ciphertext.
  std::string message, receive_id;
  (void)crypt.Open(body, &message, &receive_id);
  (void)crypt.Decrypt(body, &message);

  // 3. The body as a plaintext, past the signature.
  if (body.size() > 8192) return 0;
  const std::string encrypted = crypt.Encrypt(body, "0123456789abcdef");
  PostSigned(crypt, encrypted);
  Inbound("GET", SignedQuery(crypt, encrypted) + "&echostr=" + sdk::UrlEncode(encrypted), "");
  // The raw layout: the body padded (PKCS#7 to 32 bytes, as WeCom does) and encrypted as is.
  std::string plain(body);
  const std::size_t pad = 32 - plain.size() % 32;
  plain.append(pad, static_cast<char>(pad));
  std::string cipher;
  const std::string& key = crypt.key();
  if (!channelhub::connectors::Aes256CbcEncrypt(key, std::string_view(key).substr(0, 16), plain, &cipher))
    __builtin_trap();
  PostSigned(crypt, channelhub::connectors::Base64Encode(cipher));
  return 0;
}
