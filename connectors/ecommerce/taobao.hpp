// Taobao / Tmall (TOP REST) incremental trade polling with taobao.trades.sold.increment.get:
// walks the seller's trades by modification time in windows of at most one day (GMT+8), page by
// page, and journals every trade version once (event id "tid:modified").
#pragma once

#include <channelhub/plugin.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace channelhub::connectors::ecommerce {

inline const char* const kTaobaoSettings[] = {"app_key", "app_secret", "session", "url",  "sign_method",
                                              "page_size", "window", "start", "fields", "lag",
                                              nullptr};

// TOP request signing (open.taobao.com docId 101617). "params" holds every parameter but
// "sign" (a std::map is sorted by name, as TOP requires); empty values are skipped.
//   md5:          UPPER(HEX(MD5(secret + k1 v1 k2 v2 ... + secret)))
//   hmac:         UPPER(HEX(HMAC-MD5(secret, k1 v1 k2 v2 ...)))
//   hmac-sha256:  UPPER(HEX(HMAC-SHA256(secret, k1 v1 k2 v2 ...)))
// Throws sdk::Failure for another sign_method.
std::string TopSign(const std::map<std::string, std::string>& params, std::string_view secret,
                    std::string_view sign_method);

// "yyyy-MM-dd HH:mm:ss" in GMT+8 (TOP's clock) <-> Unix seconds.
std::string FormatTopTime(int64_t unix_seconds);
std::optional<int64_t> ParseTopTime(std::string_view text);

class Taobao final : public sdk::Connector {
 public:
  static constexpr int64_t kDefaultLagSeconds = 60;  // a window ends at least this long before now
  static constexpr int64_t kMaxWindowSeconds = 86400;  // TOP: end_modified - start_modified <= 1 day

  Taobao(const sdk::Host& host, const sdk::Settings& settings);

  sdk::OutRequest BuildPoll(std::string_view cursor, std::string_view token) override;
  sdk::PollResult ParsePoll(std::string_view cursor, const sdk::Response& res) override;

 private:
  // Where polling stands: the window [start, end] (end == 0: not fixed yet) and the page in it.
  struct Position {
    int64_t start = 0;
    int64_t end = 0;
    int64_t page = 1;
    bool counting = false;  // the window's first request: page 1 with total_results
  };
  Position Decode(std::string_view cursor) const;
  static std::string Encode(const Position& p);
  int64_t NowSeconds() const { return host().NowMs() / 1000; }
  // The end of a window that starts at "start", as of now.
  int64_t WindowEnd(int64_t start) const;

  std::string app_key_, app_secret_, session_, sign_method_, fields_;
  int64_t page_size_ = 100;
  int64_t window_s_ = kMaxWindowSeconds;
  int64_t lag_s_ = kDefaultLagSeconds;  // TOP indexes a modification a little after it happens
  int64_t initial_start_ = 0;

  // The last request built: ParsePoll must judge the answer against the same window.
  std::string built_cursor_;
  std::optional<Position> built_;
};

}  // namespace channelhub::connectors::ecommerce
