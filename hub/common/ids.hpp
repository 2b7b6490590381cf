// Hashes, MACs, encodings and random ids used for signatures, idempotency keys and event ids.
// All functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "hub/common/status.hpp"

namespace channelhub {

// SHA-256 of "data" as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// HMAC-SHA256 of "data" under "key": the raw 32-byte digest.
std::string HmacSha256(std::string_view key, std::string_view data);
// The same digest in standard Base64 (Shopify's X-Shopify-Hmac-Sha256) or lower-case hex.
std::string HmacSha256Base64(std::string_view key, std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Lower-case hex of arbitrary bytes.
std::string HexEncode(std::string_view bytes);

// Standard Base64 (RFC 4648 section 4, "+/" alphabet) with '=' padding.
std::string Base64Encode(std::string_view bytes);
// Decodes standard Base64. Padding may be omitted ("YQ" decodes like "YQ=="). InvalidArgument on
// any character outside the alphabet (whitespace included), misplaced padding or a length that
// no encoding produces.
Result<std::string> Base64Decode(std::string_view text);

// Compares two secrets in time that depends only on their lengths, not on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// A random RFC 4122 version-4 UUID from the OpenSSL CSPRNG, lower case:
// "3b241101-e2bb-4255-8caf-4136c566a962".
std::string NewRandomId();

}  // namespace channelhub
