// A WeCom (企业微信) simulator for end-to-end tests of the real hub binary, written on its own
// (OpenSSL EVP, RapidJSON) and sharing no code with connectors/wecom:
//
//   - the callback side: what WeCom sends to a callback URL, signed and encrypted (msg_signature
//     = SHA1 of the sorted token, timestamp, nonce and ciphertext; AES-256-CBC with the key from
//     the EncodingAESKey, IV its first 16 bytes, PKCS#7 to 32 bytes, random(16) | length | msg |
//     corp id): the URL-verification GET and event POSTs;
//   - the server API: gettoken (a token serves "uses_per_token" API calls, then answers 42001
//     "access_token expired"; unknown tokens 40014), externalcontact/get and
//     externalcontact/batch/get_by_user over the contacts the test adds.
//
// Thread-safe: Handle() runs on FakeHttpServer's threads, the rest on the test's.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {

class WecomSimulator {
 public:
  WecomSimulator(std::string corp_id, std::string secret, std::string token, std::string encoding_aes_key);

  // ---- Callbacks (what WeCom sends to the hub) ----
  struct Signed {
    std::string query;  // "msg_signature=...&timestamp=...&nonce=..." (+ "&echostr=..." for GET)
    std::string body;   // the POST body ("" for the verification GET)
    std::string encrypt;
  };
  // The URL-verification request for the plaintext "echo".
  Signed Verification(const std::string& echo, const std::string& timestamp, const std::string& nonce) const;
  // An event POST: "xml" encrypted with a fresh random prefix, signed for timestamp and nonce.
  Signed Callback(const std::string& xml, const std::string& timestamp, const std::string& nonce) const;
  // The decrypted XML of a change_external_contact event ("extra": more elements, as XML).
  std::string ContactEventXml(const std::string& change_type, const std::string& userid,
                              const std::string& external_userid, int64_t create_time,
                              const std::string& extra = "") const;

  // Encrypts with the given 16-byte prefix (Base64 result) and decrypts (false on any error).
  std::string Encrypt(const std::string& msg, const std::string& random16) const;
  bool Decrypt(const std::string& encrypt, std::string* msg, std::string* receive_id) const;
  std::string Sign(const std::string& timestamp, const std::string& nonce, const std::string& encrypt) const;

  // ---- Server API ----
  struct Follow {
    std::string userid;
    std::string remark;
    std::vector<std::string> remark_mobiles;
    std::vector<std::string> tags;  // tag names (corp tags, type 1, with a made-up tag_id)
    int64_t createtime = 0;
  };
  void AddContact(const std::string& external_userid, const std::string& name, const std::string& unionid,
                  std::vector<Follow> follows);
  // Each token serves this many API calls, then is expired (0: unlimited).
  void SetUsesPerToken(int uses);

  ScriptedReply Handle(const RecordedRequest& request);

  int TokenRequests() const;
  int ExpiredAnswers() const;  // 42001 answers given
  int ApiCalls() const;        // externalcontact calls with a valid token

 private:
  struct Contact {
    std::string external_userid, name, unionid;
    std::vector<Follow> follows;
  };
  std::string ContactJson(const Contact& c) const;
  std::string FollowJson(const Contact& c, const Follow& f, bool batch) const;
  // "" when valid; else the error answer.
  std::string UseToken(const std::string& token);

  std::string corp_id_, secret_, token_, key_;

  mutable std::mutex mu_;
  std::vector<Contact> contacts_;
  std::map<std::string, int> tokens_;  // token -> uses left (-1 unlimited)
  int uses_per_token_ = 0;
  int issued_ = 0;
  int token_requests_ = 0;
  int expired_answers_ = 0;
  int api_calls_ = 0;
};

}  // namespace channelhub::e2e
