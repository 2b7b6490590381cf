// A minimal connector: "echo" accepts JSON webhooks that carry a shared token, and delivers
// payloads by POSTing them to the destination's url. It shows the whole SDK in ~80 lines:
// settings, inbound verification, outbound build and judge. Walk-through: plugins/README.md.
#include <channelhub/plugin.hpp>

#include <string>

namespace sdk = channelhub::sdk;

namespace {

class Echo final : public sdk::Connector {
 public:
  Echo(const sdk::Host& host, const sdk::Settings& settings)
      : Connector(host),
        token_(settings.GetOr("token", "")),
        header_(settings.GetOr("header", "X-Echo-Token")),
        path_(settings.GetOr("path", "")) {}

  // Inbound: check the token, then hand the body to the hub as one payload. The event id comes
  // from the X-Echo-Id header when the sender gives one (redeliveries are then dropped).
  sdk::InboundResult Inbound(const sdk::Request& req) override {
    if (!token_.empty() && req.Header(header_) != token_) {
      return sdk::InboundResult::Reject(401, "missing or wrong token");
    }
    if (req.body.empty()) return sdk::InboundResult::Reject(400, "empty body");
    sdk::InboundResult r;
    r.payloads.push_back({std::string(req.Header("X-Echo-Id")), std::string(req.Header("X-Echo-Kind")),
                          "application/json", std::string(req.body)});
    r.content_type = "application/json";
    r.body = R"({"echo":"ok"})";
    return r;
  }

  // Outbound: POST the payload with the event id as idempotency key.
  sdk::OutRequest BuildDelivery(const sdk::Delivery& d) override {
    sdk::OutRequest r;
    r.target = path_;
    r.headers = {{"Content-Type", std::string(d.content_type)}, {"Idempotency-Key", std::string(d.event_id)}};
    r.body = std::string(d.body);
    return r;
  }

  sdk::Verdict JudgeDelivery(const sdk::Delivery&, const sdk::Response& res) override {
    if (res.status >= 200 && res.status < 300) return sdk::Verdict::Done();
    if (res.status == 429 || res.status >= 500) return sdk::Verdict::Retry("HTTP " + std::to_string(res.status));
    return sdk::Verdict::Permanent("HTTP " + std::to_string(res.status) + ": " +
                                   std::string(res.body.substr(0, 200)));
  }

 private:
  std::string token_;
  std::string header_;
  std::string path_;
};

const char* const kEchoSettings[] = {"token", "header", "path", nullptr};

}  // namespace

CHUB_PLUGIN("channelhub-example-echo", "1.0.0",
            sdk::Describe<Echo>("echo", "example: JSON webhooks with a shared token; POST delivery",
                                CHUB_CAP_INBOUND | CHUB_CAP_OUTBOUND, kEchoSettings))
