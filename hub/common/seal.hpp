// Encryption at rest of stored payloads (data_protection: in the configuration): AES-256-GCM
// with keys read from files, several keys at once so that a key can be rotated.
//
// A sealed blob is
//   "\x01E" (2 bytes: magic) | 0x01 (format version) | key id (4 bytes) | nonce (24 bytes)
//   | ciphertext | GCM tag (16 bytes)
// i.e. 47 bytes more than the plaintext. The key id is the first 4 bytes of SHA-256 of the key, so
// unsealing finds the key among the current and the previous ones. Each blob is encrypted under
// its own key, HMAC-SHA-256(key, "channelhub seal v1" | nonce[0..11]), with nonce[12..23] as the
// GCM nonce: random 96-bit GCM nonces under one key are safe for 2^32 messages only (NIST SP
// 800-38D), which a busy hub could reach within one key's lifetime; with a fresh key per blob that
// bound does not apply. "aad" (the table and column, e.g. "journal.inbox.body") is authenticated,
// so a blob moved into another column does not open.
//
// Anything that does not start with the magic is plaintext written before encryption was on, and
// reads as itself: existing files keep working, and old and new rows mix.
//
// Thread safety: a Keyring is immutable once built; every method may run on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/status.hpp"

typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace channelhub::seal {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 24;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kHeaderBytes = 2 + 1 + 4 + kNonceBytes;
inline constexpr std::size_t kOverhead = kHeaderBytes + kTagBytes;

using KeyId = std::array<unsigned char, 4>;

// "1a2b3c4d": how a key is named in messages, logs and `channelhub check`.
std::string KeyIdText(const KeyId& id);

// True when "blob" carries the sealed format's prefix (whatever its key).
bool IsSealed(std::string_view blob);

// The key id of a sealed blob. REQUIRES: IsSealed(blob).
KeyId SealedKeyId(std::string_view blob);

// Parses a key file's contents: 64 hex digits (32 bytes), surrounding whitespace ignored
// (`openssl rand -hex 32 > data.key`). InvalidArgument saying what is wrong, never quoting it.
Result<std::string> ParseKey(std::string_view file_text);

class Keyring {
 public:
  // "current" seals; it and every one of "previous" unseal. Each a 32-byte raw key.
  // InvalidArgument when a key has the wrong length or two keys share an id.
  static Result<std::shared_ptr<const Keyring>> Create(std::string current, std::vector<std::string> previous = {});

  // Encrypts "plaintext" under the current key.
  std::string Seal(std::string_view plaintext, std::string_view aad) const;

  // The plaintext of a sealed blob; a blob without the prefix is returned as it is. Corruption
  // when the blob is damaged, altered, or belongs to another column; NotFound naming the key id
  // when no configured key has it.
  Result<std::string> Unseal(std::string_view blob, std::string_view aad) const;

  const KeyId& current_id() const { return keys_.front().id; }
  std::vector<KeyId> ids() const;  // current first
  bool Has(const KeyId& id) const;

 private:
  struct Key {
    KeyId id;
    std::string bytes;
    std::shared_ptr<EVP_MAC_CTX> mac;  // HMAC-SHA-256 keyed with "bytes", copied for each use
  };
  Keyring() = default;
  const Key* Find(const KeyId& id) const;
  std::vector<Key> keys_;  // current first
};

// Without a keyring ("ring" null) data stays as it is: Seal returns the plaintext and Unseal
// passes plaintext through; a sealed blob is an error naming its key id. These two are what the
// stores call.
std::string SealOrPass(const Keyring* ring, std::string_view plaintext, std::string_view aad);
Result<std::string> UnsealOrPass(const Keyring* ring, std::string_view blob, std::string_view aad);

// A keyed hash for equality lookups over values that must not be stored in clear (a "blind
// index"): HMAC-SHA-256(index_key, domain | 0x00 | value), the first 16 bytes in hex (32 digits).
std::string BlindIndex(std::string_view index_key, std::string_view domain, std::string_view value);

// The same hashes with the key prepared once. Immutable; safe on several threads at once.
class BlindIndexKey {
 public:
  explicit BlindIndexKey(std::string_view index_key);
  std::string Hash(std::string_view domain, std::string_view value) const;

 private:
  std::shared_ptr<EVP_MAC_CTX> mac_;
};

// 32 bytes from the OpenSSL CSPRNG.
std::string RandomKey();

}  // namespace channelhub::seal
