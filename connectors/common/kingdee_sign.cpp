#include "connectors/common/kingdee_sign.hpp"

#include "connectors/common/crypto.hpp"

namespace channelhub::connectors::kingdee {
namespace {

// The XOR key of the official SDKs' DecodeAppSecret (protocols.md §4.2).
constexpr std::string_view kAppSecretKey = "0054f397c6234378b09ca7d3e5debce7";

}  // namespace

namespace sdk = channelhub::sdk;

std::string DecodeAppSecret(std::string_view encoded) {
  std::string raw;
  if (encoded.empty() || !Base64Decode(encoded, &raw)) {
    throw sdk::Failure("the part of app_id after '_' is not Base64");
  }
  for (std::size_t i = 0; i < raw.size(); ++i) {
    raw[i] = static_cast<char>(raw[i] ^ kAppSecretKey[i % kAppSecretKey.size()]);
  }
  return Base64Encode(raw);
}

std::string KdHmac(std::string_view key, std::string_view message) {
  return Base64Encode(HexLower(HmacSha256(key, message)));
}

std::string EncodePath(std::string_view path) { return sdk::UrlEncode(path); }

sdk::Headers SignatureHeaders(const AppCredentials& app, std::string_view path,
                              std::string_view timestamp, std::string_view nonce) {
  std::size_t cut = app.app_id.find('_');
  if (cut == std::string::npos)
    throw sdk::Failure("setting \"app_id\": expected <clientId>_<secret>");
  std::string client_id = app.app_id.substr(0, cut);
  std::string client_secret = DecodeAppSecret(std::string_view(app.app_id).substr(cut + 1));
  std::string to_sign = "POST\n" + EncodePath(path) + "\n\nx-api-nonce:" + std::string(nonce) +
                        "\nx-api-timestamp:" + std::string(timestamp) + "\n";
  std::string app_data = app.acct_id + "," + app.user + "," + app.lcid + "," + app.org_num;
  sdk::Headers h;
  h.emplace_back("X-Api-ClientID", client_id);
  h.emplace_back("X-Api-Auth-Version", "2.0");
  h.emplace_back("x-api-timestamp", std::string(timestamp));
  h.emplace_back("x-api-nonce", std::string(nonce));
  h.emplace_back("x-api-signheaders", "x-api-timestamp,x-api-nonce");
  h.emplace_back("X-Api-Signature", KdHmac(client_secret, to_sign));
  h.emplace_back("X-Kd-Appkey", app.app_id);
  h.emplace_back("X-Kd-Appdata", Base64Encode(app_data));
  h.emplace_back("X-Kd-Signature", KdHmac(app.app_secret, app.app_id + app_data));
  return h;
}

}  // namespace channelhub::connectors::kingdee
