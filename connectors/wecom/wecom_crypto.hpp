// WeCom (企业微信) callback cryptography (protocols.md §1.2): the msg_signature over the sorted
// token, timestamp, nonce and ciphertext; AES-256-CBC with the key from the 43-character
// EncodingAESKey (IV = the key's first 16 bytes); PKCS#7 padding to a 32-byte block; the
// plaintext layout random(16) | length (4 bytes, big-endian) | message | receiveid.
#pragma once

#include <string>
#include <string_view>

namespace channelhub::connectors::wecom {

// Lowercase hex SHA1 of the four strings sorted byte-wise and joined without a separator.
std::string MsgSignature(std::string_view token, std::string_view timestamp, std::string_view nonce,
                         std::string_view encrypted);

// Why a message was refused. kNone: it was not.
enum class CryptError {
  kNone,
  kSignature,  // msg_signature does not match (or an input is empty)
  kBase64,     // the ciphertext is not Base64
  kCipher,     // the ciphertext's length is not a whole number of AES blocks
  kPadding,    // the PKCS#7 padding is not valid (1..32 bytes, all equal)
  kLength,     // the length field runs past the plaintext
  kReceiveId,  // the receiveid is not the configured one
};

const char* CryptErrorName(CryptError e);

class MsgCrypt {
 public:
  // Throws sdk::Failure when the token or receive_id is empty or the EncodingAESKey is not
  // 43 characters of Base64 for a 32-byte key.
  MsgCrypt(std::string token, std::string_view encoding_aes_key, std::string receive_id);

  // msg_signature for this token.
  std::string Sign(std::string_view timestamp, std::string_view nonce, std::string_view encrypted) const;
  // Constant-time comparison with the expected signature; false when any input is empty.
  bool Verify(std::string_view signature, std::string_view timestamp, std::string_view nonce,
              std::string_view encrypted) const;

  // Base64 ciphertext -> the message. Checks padding, the length field and the receiveid.
  CryptError Decrypt(std::string_view encrypted, std::string* message) const;
  // As Decrypt, without the receiveid check; the receiveid found goes to "receive_id".
  CryptError Open(std::string_view encrypted, std::string* message, std::string* receive_id) const;

  // The Base64 ciphertext of "message" with the 16-byte prefix "random" (throws sdk::Failure
  // when it is not 16 bytes) and the configured receiveid.
  std::string Encrypt(std::string_view message, std::string_view random) const;

  const std::string& key() const { return key_; }
  const std::string& receive_id() const { return receive_id_; }

 private:
  std::string token_;
  std::string key_;  // 32 bytes
  std::string receive_id_;
};

}  // namespace channelhub::connectors::wecom
