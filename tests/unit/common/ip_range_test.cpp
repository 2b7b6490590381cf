#include "hub/common/ip_range.hpp"

#include <gtest/gtest.h>

namespace channelhub {
namespace {

TEST(IpRange, MatchesAddressesInsideThePrefixOnly) {
  auto net = IpRange::Parse("10.20.0.0/16");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains("10.20.3.4"));
  EXPECT_TRUE(net->Contains("::ffff:10.20.255.1"));  // IPv4-mapped, as dual-stack sockets report it
  EXPECT_FALSE(net->Contains("10.21.0.1"));
  EXPECT_FALSE(net->Contains("not an address"));
  auto one = IpRange::Parse("203.0.113.7");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->Contains("203.0.113.7"));
  EXPECT_FALSE(one->Contains("203.0.113.8"));
  auto v6 = IpRange::Parse("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains("2001:db8:1::5"));
  EXPECT_FALSE(v6->Contains("2001:db9::1"));
  EXPECT_FALSE(v6->Contains("10.0.0.1"));
  auto odd = IpRange::Parse("192.168.1.0/23");  // not on a byte boundary
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->Contains("192.168.0.200"));
  EXPECT_FALSE(odd->Contains("192.168.2.1"));
  EXPECT_TRUE(IpRange::Parse("0.0.0.0/0")->Contains("8.8.8.8"));
}

TEST(IpRange, SaysWhatIsWrong) {
  EXPECT_EQ(IpRange::Parse("10.0.0.0/33").status().message(), "the prefix of \"10.0.0.0/33\" must be 0..32");
  EXPECT_EQ(IpRange::Parse("localhost").status().message(),
            "expected an IP address or ADDRESS/PREFIX like 10.0.0.0/8, got \"localhost\"");
  EXPECT_FALSE(IpRange::Parse("10.0.0.0/x").ok());
}

}  // namespace
}  // namespace channelhub
