// Kingdee K/3 Cloud's third-party authorisation (第三方系统登录授权): the signature headers its
// official SDKs put on every WebAPI request (protocols.md §4.2, vector K1). Shared by the ERP and
// finance connectors.
#pragma once

#include <channelhub/plugin.hpp>

#include <string>
#include <string_view>

namespace channelhub::connectors::kingdee {

// The client secret hidden in the second part of an AppID ("<clientId>_<this>"): Base64-decoded,
// XORed with the SDK's fixed key, Base64-encoded again. Throws sdk::Failure when it is not Base64.
std::string DecodeAppSecret(std::string_view encoded);

// Base64(lowercase hex(HMAC-SHA256(key, message))): Kingdee's signature encoding.
std::string KdHmac(std::string_view key, std::string_view message);

// The request path as signed: percent-encoded, '/' included ("/k3cloud/x" -> "%2Fk3cloud%2Fx").
std::string EncodePath(std::string_view path);

struct AppCredentials {
  std::string app_id;  // "<clientId>_<encoded client secret>"
  std::string app_secret;
  std::string acct_id;
  std::string user;
  std::string lcid = "2052";
  std::string org_num = "0";
};

// The signature headers of a POST to "path" (without scheme, host and query). Throws
// sdk::Failure for an app_id without its '_' part.
sdk::Headers SignatureHeaders(const AppCredentials& app, std::string_view path, std::string_view timestamp,
                              std::string_view nonce);

}  // namespace channelhub::connectors::kingdee
