#include "hub/common/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <string>

namespace channelhub {
namespace {

TEST(MaskPii, MasksMobilesInEveryCommonSpelling) {
  EXPECT_EQ(MaskPii("buyer 13800138000 called"), "buyer 138****8000 called");
  EXPECT_EQ(MaskPii("mobile=+8613800138000"), "mobile=+86138****8000");
  EXPECT_EQ(MaskPii("tel 138-0013-8000, 139 1234 5678"), "tel 138****8000, 139****5678");
  EXPECT_EQ(MaskPii("\"mobile\":\"+8618912345678\""), "\"mobile\":\"+86189****5678\"");
  EXPECT_EQ(MaskPii("+14155552671"), "+1******2671");
  EXPECT_EQ(MaskPii("got \"13800138000x\""), "got \"138****8000x\"");  // a typo quoted in an error
}

TEST(MaskPii, MasksEmailAddresses) {
  EXPECT_EQ(MaskPii("from wang.fang@example.cn:"), "from w***@example.cn:");
  EXPECT_EQ(MaskPii("a@b.cn and li@mail.example.com"), "a***@b.cn and l***@mail.example.com");
}

TEST(MaskPii, LeavesIdsAmountsAndTimesAlone) {
  for (const char* s : {"event 820982911946154508:0 delivered", "order SO-2025-11-20 total 1180.00",
                        "DOCNUM 0000000081234567", "2026-11-30T13:00:00Z took 1234 ms", "12345678901x", "ID13800138000",
                        "at @home", "port 127.0.0.1:8080", "tid 1234567890123456789"}) {
    EXPECT_EQ(MaskPii(s), s);
  }
}

}  // namespace
}  // namespace channelhub

namespace channelhub {
namespace {

TEST(TraceId, IsStablePerSourceAndEventAndLooksLikeAW3CTraceId) {
  const std::string a = TraceIdFor("shopify", "evt-1");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_EQ(a, TraceIdFor("shopify", "evt-1"));
  EXPECT_NE(a, TraceIdFor("youzan", "evt-1"));    // ids are unique per source only
  EXPECT_NE(a, TraceIdFor("shopify", "evt-2"));
  EXPECT_NE(TraceIdFor("ab", "c"), TraceIdFor("a", "bc"));  // no ambiguity at the seam
}

TEST(TraceId, CanonicalEventsShareTheirInboundEventsTrace) {
  EXPECT_EQ(InboundEventId("evt-1:0"), "evt-1");
  EXPECT_EQ(InboundEventId("a:b:12"), "a:b");
  EXPECT_EQ(InboundEventId("urn:x"), "urn:x");  // not "<id>:<n>": kept whole
  EXPECT_EQ(InboundEventId("evt-1:"), "evt-1:");
  EXPECT_EQ(InboundEventId("plain"), "plain");
}

// Captures what the channelhub logger writes while a LogContext is alive.
class LogContextTest : public ::testing::Test {
 protected:
  std::string Capture(LogFormat format, const std::function<void()>& body) {
    testing::internal::CaptureStderr();
    SetUpLogging("debug", format);
    body();
    spdlog::default_logger()->flush();
    return testing::internal::GetCapturedStderr();
  }
};

TEST_F(LogContextTest, JsonLinesCarryEventAndTraceAndNestingRestores) {
  const std::string out = Capture(LogFormat::kJson, [] {
    spdlog::info("before");
    {
      auto outer = LogContext::ForEvent("shop", "evt-9:1");
      spdlog::info("delivering");
      {
        LogContext inner("other", "0123456789abcdef0123456789abcdef");
        spdlog::info("nested");
      }
      spdlog::info("back");
    }
    spdlog::info("after");
  });
  const std::string trace = TraceIdFor("shop", "evt-9");
  EXPECT_NE(out.find(R"("msg":"before"})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"delivering","event_id":"evt-9:1","trace_id":")" + trace + "\"}"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"nested","event_id":"other","trace_id":"0123456789abcdef0123456789abcdef"})"),
            std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"back","event_id":"evt-9:1","trace_id":")" + trace + "\"}"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"after"})"), std::string::npos) << out;
}

TEST_F(LogContextTest, TextLinesEndWithTheTraceAndMaskAPhoneUsedAsEventId) {
  const std::string out = Capture(LogFormat::kText, [] {
    auto ctx = LogContext::ForEvent("wecom", "13800138000");
    spdlog::warn("retrying");
  });
  EXPECT_NE(out.find("retrying [event 138****8000 trace " + TraceIdFor("wecom", "13800138000") + "]"),
            std::string::npos) << out;
}

}  // namespace
}  // namespace channelhub
