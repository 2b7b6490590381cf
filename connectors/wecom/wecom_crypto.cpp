#include "connectors/wecom/wecom_crypto.hpp"

#include <algorithm>
#include <array>
#include <channelhub/plugin.hpp>
#include <cstdint>

#include "connectors/common/crypto.hpp"

namespace channelhub::connectors::wecom {

namespace {

constexpr std::size_t kEncodingKeySize = 43;
constexpr std::size_t kKeySize = 32;
constexpr std::size_t kIvSize = 16;
constexpr std::size_t kRandomSize = 16;
constexpr std::size_t kPadBlock = 32;  // WeCom pads to 32 bytes, not to AES's 16

}  // namespace

std::string MsgSignature(std::string_view token, std::string_view timestamp, std::string_view nonce,
                         std::string_view encrypted) {
  std::array<std::string_view, 4> parts = {token, timestamp, nonce, encrypted};
  std::sort(parts.begin(), parts.end());
  std::string joined;
  joined.reserve(token.size() + timestamp.size() + nonce.size() + encrypted.size());
  for (std::string_view p : parts) joined.append(p);
  return HexLower(Sha1(joined));
}

const char* CryptErrorName(CryptError e) {
  switch (e) {
    case CryptError::kNone: return "ok";
    case CryptError::kSignature: return "signature mismatch";
    case CryptError::kBase64: return "ciphertext is not Base64";
    case CryptError::kCipher: return "ciphertext length is not a multiple of the block size";
    case CryptError::kPadding: return "invalid padding";
    case CryptError::kLength: return "invalid length field";
    case CryptError::kReceiveId: return "receiveid mismatch";
  }
  return "unknown";
}

MsgCrypt::MsgCrypt(std::string token, std::string_view encoding_aes_key, std::string receive_id)
    : token_(std::move(token)), receive_id_(std::move(receive_id)) {
  if (token_.empty()) throw sdk::Failure("missing setting \"token\"");
  if (receive_id_.empty()) throw sdk::Failure("missing setting \"corp_id\"");
  if (encoding_aes_key.size() != kEncodingKeySize ||
      !Base64Decode(std::string(encoding_aes_key) + "=", &key_) || key_.size() != kKeySize) {
    key_.clear();
    throw sdk::Failure(
        "setting \"encoding_aes_key\": expected the 43-character EncodingAESKey shown in the "
        "WeCom admin console");
  }
}

std::string MsgCrypt::Sign(std::string_view timestamp, std::string_view nonce,
                           std::string_view encrypted) const {
  return MsgSignature(token_, timestamp, nonce, encrypted);
}

bool MsgCrypt::Verify(std::string_view signature, std::string_view timestamp, std::string_view nonce,
                      std::string_view encrypted) const {
  if (signature.empty() || timestamp.empty() || nonce.empty() || encrypted.empty()) return false;
  // Senders write lowercase hex; compare the lowercase form in constant time.
  std::string given(signature);
  for (char& c : given) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return ConstantTimeEquals(given, Sign(timestamp, nonce, encrypted));
}

CryptError MsgCrypt::Open(std::string_view encrypted, std::string* message,
                          std::string* receive_id) const {
  std::string cipher;
  if (encrypted.empty() || !Base64Decode(encrypted, &cipher)) return CryptError::kBase64;
  if (cipher.empty() || cipher.size() % 16 != 0) return CryptError::kCipher;
  std::string plain;
  if (!Aes256CbcDecrypt(key_, std::string_view(key_).substr(0, kIvSize), cipher, &plain))
    return CryptError::kCipher;
  if (plain.empty()) return CryptError::kPadding;
  const auto pad = static_cast<unsigned char>(plain.back());
  if (pad < 1 || pad > kPadBlock || pad > plain.size()) return CryptError::kPadding;
  unsigned char diff = 0;
  for (std::size_t i = plain.size() - pad; i < plain.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(plain[i]) ^ pad));
  }
  if (diff != 0) return CryptError::kPadding;
  plain.resize(plain.size() - pad);
  if (plain.size() < kRandomSize + 4) return CryptError::kLength;
  uint64_t length = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    length = (length << 8) | static_cast<unsigned char>(plain[kRandomSize + i]);
  }
  const std::size_t body = kRandomSize + 4;
  if (length > plain.size() - body) return CryptError::kLength;
  message->assign(plain, body, static_cast<std::size_t>(length));
  receive_id->assign(plain, body + static_cast<std::size_t>(length), std::string::npos);
  return CryptError::kNone;
}

CryptError MsgCrypt::Decrypt(std::string_view encrypted, std::string* message) const {
  std::string found;
  std::string msg;
  CryptError e = Open(encrypted, &msg, &found);
  if (e != CryptError::kNone) return e;
  if (!ConstantTimeEquals(found, receive_id_)) return CryptError::kReceiveId;
  *message = std::move(msg);
  return CryptError::kNone;
}

std::string MsgCrypt::Encrypt(std::string_view message, std::string_view random) const {
  if (random.size() != kRandomSize) throw sdk::Failure("the random prefix must be 16 bytes");
  if (message.size() > 0xFFFFFFFFu) throw sdk::Failure("message too long");
  std::string plain(random);
  const auto n = static_cast<uint32_t>(message.size());
  plain.push_back(static_cast<char>((n >> 24) & 0xFF));
  plain.push_back(static_cast<char>((n >> 16) & 0xFF));
  plain.push_back(static_cast<char>((n >> 8) & 0xFF));
  plain.push_back(static_cast<char>(n & 0xFF));
  plain.append(message);
  plain.append(receive_id_);
  const std::size_t pad = kPadBlock - plain.size() % kPadBlock;
  plain.append(pad, static_cast<char>(pad));
  std::string cipher;
  if (!Aes256CbcEncrypt(key_, std::string_view(key_).substr(0, kIvSize), plain, &cipher))
    throw sdk::Failure("AES encryption failed");
  return Base64Encode(cipher);
}

}  // namespace channelhub::connectors::wecom
