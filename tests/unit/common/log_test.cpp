#include "hub/common/log.hpp"

#include <gtest/gtest.h>

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
