#include "hub/common/seal.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <cstring>

#include "hub/common/ids.hpp"

namespace channelhub::seal {
namespace {

constexpr char kMagic0 = '\x01';
constexpr char kMagic1 = 'E';
constexpr char kVersion = '\x01';
constexpr std::string_view kSubkeyLabel = "channelhub seal v1";

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

KeyId IdOf(std::string_view key) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), md);
  KeyId id;
  std::memcpy(id.data(), md, id.size());
  return id;
}

// The algorithms, fetched once: an implicit fetch (EVP_aes_256_gcm(), HMAC()) at every call
// costs as much as sealing a small value.
const EVP_CIPHER* Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

std::shared_ptr<EVP_MAC_CTX> PreparedHmac(std::string_view key) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  std::shared_ptr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(hmac), EVP_MAC_CTX_free);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    std::abort();  // HMAC-SHA-256 is always there; without it nothing can be sealed safely
  }
  return ctx;
}

// HMAC-SHA-256 of a | b under the key "prepared" was made with. Safe on several threads at once:
// "prepared" is only copied.
std::string Hmac(const EVP_MAC_CTX* prepared, std::string_view a, std::string_view b) {
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(prepared), EVP_MAC_CTX_free);
  std::string out(32, '\0');
  std::size_t len = 0;
  if (!ctx || EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(a.data()), a.size()) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(b.data()), b.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) != 1 || len != 32) {
    std::abort();
  }
  return out;
}

// The per-blob AES key: HMAC-SHA-256(key, label | the nonce's first 12 bytes).
std::string Subkey(const EVP_MAC_CTX* key_mac, std::string_view nonce) {
  return Hmac(key_mac, kSubkeyLabel, nonce.substr(0, 12));
}

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* U(std::string& s, std::size_t at) { return reinterpret_cast<unsigned char*>(s.data() + at); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string KeyIdText(const KeyId& id) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}

bool IsSealed(std::string_view blob) {
  return blob.size() >= kOverhead && blob[0] == kMagic0 && blob[1] == kMagic1 && blob[2] == kVersion;
}

KeyId SealedKeyId(std::string_view blob) {
  KeyId id;
  std::memcpy(id.data(), blob.data() + 3, id.size());
  return id;
}

Result<std::string> ParseKey(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  if (text.size() != 2 * kKeyBytes) {
    return Status::Invalid("expected 64 hex digits (a 32-byte key, made with: openssl rand -hex 32); the file holds " +
                           std::to_string(text.size()) + " characters");
  }
  std::string key(kKeyBytes, '\0');
  for (std::size_t i = 0; i < kKeyBytes; ++i) {
    const int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::Invalid("expected 64 hex digits (0-9, a-f; made with: openssl rand -hex 32); character " +
                             std::to_string(hi < 0 ? 2 * i + 1 : 2 * i + 2) + " is not one");
    }
    key[i] = static_cast<char>(hi * 16 + lo);
  }
  return key;
}

Result<std::shared_ptr<const Keyring>> Keyring::Create(std::string current, std::vector<std::string> previous) {
  std::shared_ptr<Keyring> ring(new Keyring());
  previous.insert(previous.begin(), std::move(current));
  for (std::string& k : previous) {
    if (k.size() != kKeyBytes) {
      return Status::Invalid("a data key must be 32 bytes; got " + std::to_string(k.size()));
    }
    const KeyId id = IdOf(k);
    if (const Key* other = ring->Find(id)) {
      return Status::Invalid(other->bytes == k ? "key " + KeyIdText(id) + " is listed twice"
                                               : "two different keys share the id " + KeyIdText(id) +
                                                     "; generate a new key");
    }
    auto mac = PreparedHmac(k);
    ring->keys_.push_back({id, std::move(k), std::move(mac)});
  }
  return std::shared_ptr<const Keyring>(std::move(ring));
}

const Keyring::Key* Keyring::Find(const KeyId& id) const {
  for (const Key& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

bool Keyring::Has(const KeyId& id) const { return Find(id) != nullptr; }

std::vector<KeyId> Keyring::ids() const {
  std::vector<KeyId> out;
  for (const Key& k : keys_) out.push_back(k.id);
  return out;
}

std::string Keyring::Seal(std::string_view plaintext, std::string_view aad) const {
  const Key& key = keys_.front();
  std::string out(kHeaderBytes + plaintext.size() + kTagBytes, '\0');
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[2] = kVersion;
  std::memcpy(out.data() + 3, key.id.data(), key.id.size());
  // A CSPRNG failure leaves no safe way to encrypt: stop rather than reuse a nonce.
  if (RAND_bytes(U(out, 7), static_cast<int>(kNonceBytes)) != 1) std::abort();
  const std::string_view nonce(out.data() + 7, kNonceBytes);
  std::string subkey = Subkey(key.mac.get(), nonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), Gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(subkey), U(nonce.substr(12))) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1);
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), U(out, kHeaderBytes), &len, U(plaintext), static_cast<int>(plaintext.size())) == 1;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), U(out, kHeaderBytes + plaintext.size()), &len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                           U(out, kHeaderBytes + plaintext.size())) == 1;
  OPENSSL_cleanse(subkey.data(), subkey.size());
  // AES-GCM with valid arguments does not fail; if OpenSSL does, writing plaintext would be worse.
  if (!ok) std::abort();
  return out;
}

Result<std::string> Keyring::Unseal(std::string_view blob, std::string_view aad) const {
  if (!IsSealed(blob)) return std::string(blob);
  const KeyId id = SealedKeyId(blob);
  const Key* key = Find(id);
  if (!key) {
    return Status::NotFound("sealed with data key " + KeyIdText(id) +
                            ", which is not configured (data_protection.key_file or previous_key_files)");
  }
  const std::string_view nonce = blob.substr(7, kNonceBytes);
  const std::string_view body = blob.substr(kHeaderBytes, blob.size() - kOverhead);
  const std::string_view tag = blob.substr(blob.size() - kTagBytes);
  std::string subkey = Subkey(key->mac.get(), nonce);
  std::string out(body.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  std::string tag_copy(tag);
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), Gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(subkey), U(nonce.substr(12))) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1);
  if (ok && !body.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), U(out, 0), &len, U(body), static_cast<int>(body.size())) == 1;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag_copy.data()) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), U(out, body.size()), &len) == 1;
  OPENSSL_cleanse(subkey.data(), subkey.size());
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return Status(StatusCode::kCorruption,
                  "a value sealed with data key " + KeyIdText(id) + " does not open: it was altered, damaged, " +
                      "or belongs to another place than " + std::string(aad));
  }
  return out;
}

std::string SealOrPass(const Keyring* ring, std::string_view plaintext, std::string_view aad) {
  return ring ? ring->Seal(plaintext, aad) : std::string(plaintext);
}

Result<std::string> UnsealOrPass(const Keyring* ring, std::string_view blob, std::string_view aad) {
  if (ring) return ring->Unseal(blob, aad);
  if (IsSealed(blob)) {
    return Status::NotFound("sealed with data key " + KeyIdText(SealedKeyId(blob)) +
                            ", but no data_protection key is configured");
  }
  return std::string(blob);
}

std::string BlindIndex(std::string_view index_key, std::string_view domain, std::string_view value) {
  return BlindIndexKey(index_key).Hash(domain, value);
}

BlindIndexKey::BlindIndexKey(std::string_view index_key) : mac_(PreparedHmac(index_key)) {}

std::string BlindIndexKey::Hash(std::string_view domain, std::string_view value) const {
  std::string msg(domain);
  msg.push_back('\0');
  msg.append(value);
  return HexEncode(Hmac(mac_.get(), msg, "").substr(0, 16));
}

std::string RandomKey() {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(U(key, 0), static_cast<int>(kKeyBytes)) != 1) std::abort();
  return key;
}

}  // namespace channelhub::seal
