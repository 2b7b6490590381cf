// Hashes, HMACs, encodings and AES for the built-in connectors (OpenSSL underneath). Part of the
// connectors, not of the plugin SDK: a third-party connector brings its own crypto library.
#pragma once

#include <string>
#include <string_view>

namespace channelhub::connectors {

// Raw digests (binary strings).
std::string Md5(std::string_view data);
std::string Sha1(std::string_view data);
std::string Sha256(std::string_view data);
std::string HmacMd5(std::string_view key, std::string_view data);
std::string HmacSha1(std::string_view key, std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

std::string HexLower(std::string_view bytes);
std::string HexUpper(std::string_view bytes);

std::string Base64Encode(std::string_view bytes);
// False when "text" is not Base64 (padding required, whitespace refused).
bool Base64Decode(std::string_view text, std::string* out);

// Compares without an early exit, so the time taken does not reveal where two secrets differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// AES-256-CBC without OpenSSL's padding (the caller pads: WeCom uses PKCS#7 to 32 bytes).
// "key" is 32 bytes, "iv" 16; "data" a multiple of 16 bytes. False on a size error.
bool Aes256CbcEncrypt(std::string_view key, std::string_view iv, std::string_view data, std::string* out);
bool Aes256CbcDecrypt(std::string_view key, std::string_view iv, std::string_view data, std::string* out);

}  // namespace channelhub::connectors
