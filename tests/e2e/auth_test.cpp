// Partner authentication beyond a plain signature: a timestamp window with replay protection,
// IP allow-lists, and refusals that say no more than "not authenticated".
#include <gtest/gtest.h>

#include <string>

#include "hub/common/time.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  partner:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
    auth: { type: hmac_sha256, secret: s3cret, header: X-Signature, timestamp_header: X-Timestamp, window: 2m }
  lan-only:
    connector: generic
    mapping: builtin:canonical.order
    allow_from: [10.0.0.0/8, "2001:db8::/32"]
  local:
    connector: generic
    mapping: builtin:canonical.order
    allow_from: [127.0.0.0/8]
)";

Ack Signed(uint16_t port, const std::string& id, int64_t ts, const std::string& secret = "s3cret") {
  const std::string body = CanonicalOrderJson("SO-" + id);
  const std::string t = std::to_string(ts);
  return PostWebhook(port, "partner", body,
                     {{"X-Event-Id", id}, {"X-Timestamp", t}, {"X-Signature", HmacSha256Hex(secret, t + "." + body)}});
}

TEST_F(HubTest, SignaturesWithATimestampAreAcceptedOnceWithinTheirWindow) {
  ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(kConfig)));
  const int64_t now = NowUnixMillis() / 1000;
  EXPECT_EQ(Signed(port(), "ts-1", now).status, 202);
  // The same signed request again: a replay, refused (a partner's retry signs anew).
  Ack replay = Signed(port(), "ts-1", now);
  EXPECT_EQ(replay.status, 401) << replay.ToString();
  EXPECT_EQ(Signed(port(), "ts-1", now + 1).status, 202);  // re-signed: the id is known, so a duplicate
  // Too old, too far ahead, wrong secret, no timestamp: all the same answer, no detail.
  for (Ack a : {Signed(port(), "ts-2", now - 600), Signed(port(), "ts-3", now + 600), Signed(port(), "ts-4", now, "other"),
                PostWebhook(port(), "partner", CanonicalOrderJson("SO-5"), {{"X-Signature", "ab"}})}) {
    EXPECT_EQ(a.status, 401) << a.ToString();
    EXPECT_EQ(a.error, "unauthorized");
    EXPECT_EQ(a.body.find("window"), std::string::npos) << a.body;
    EXPECT_EQ(a.body.find("signature"), std::string::npos) << a.body;
  }
}

TEST_F(HubTest, AllowListsLetOnlyTheirAddressesPost) {
  ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(kConfig)));
  Ack lan = PostWebhook(port(), "lan-only", CanonicalOrderJson("SO-L"));
  EXPECT_EQ(lan.status, 403) << lan.ToString();
  EXPECT_EQ(lan.error, "forbidden");
  EXPECT_EQ(PostWebhook(port(), "local", CanonicalOrderJson("SO-OK")).status, 202);
}

TEST_F(HubTest, AllowListsAndWindowsAreCheckedWhenTheConfigLoads) {
  const std::string bad = WriteConfig(R"(data_dir: @DIR@/var
sources:
  a:
    mapping: builtin:canonical.order
    allow_from: [10.0.0.0/40, intranet]
  b:
    mapping: builtin:canonical.order
    auth: { type: hmac_sha256, secret: s, header: X-Sig, window: 5m }
)");
  RunResult r = RunChannelhub({"check", "--config", bad}, tmp_.path());
  EXPECT_EQ(r.status.code, 2);
  EXPECT_NE(r.err.find("sources.a.allow_from[0]: the prefix of \"10.0.0.0/40\" must be 0..32"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("sources.a.allow_from[1]: expected an IP address or ADDRESS/PREFIX"), std::string::npos);
  EXPECT_NE(r.err.find("sources.b.auth.window: \"window\" needs timestamp_header"), std::string::npos) << r.err;
}

TEST_F(HubTest, OneClientCannotTakeEveryConnection) {
  ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
server: { max_connections_per_client: 2 }
sources:
  local: { mapping: builtin:canonical.order }
)")));
  // Two kept-alive connections are served; a third from the same address is closed at once.
  HttpConnection a(port()), b(port()), c(port());
  HttpRequest health;
  health.target = "/healthz";
  ASSERT_TRUE(a.RoundTrip(health).ok());
  ASSERT_TRUE(b.RoundTrip(health).ok());
  EXPECT_FALSE(c.RoundTrip(health).ok());
  EXPECT_TRUE(WaitFor([&] { return hub().Log().find("the per-client limit") != std::string::npos; }, Millis(2000)));
  // When one closes, a new one is served again.
  a.Close();
  EXPECT_TRUE(WaitFor([&] {
    HttpConnection d(port());
    return d.RoundTrip(health).ok();
  }, Millis(3000)));
}

}  // namespace
}  // namespace channelhub::e2e
