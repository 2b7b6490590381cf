#include "hub/dispatch/connector_client.hpp"

#include <gtest/gtest.h>

namespace channelhub::dispatch {
namespace {

config::Setting S(std::string v) { return config::Setting{std::move(v), false, 0, 0}; }

// One token per way of logging in: the same connector, url and settings share it; anything that
// changes the login does not.
TEST(TokenKey, IsSharedByWhatLogsInTheSameWayOnly) {
  std::map<std::string, config::Setting> a{{"acct_id", S("5db2")}, {"user", S("webapi")}, {"password", S("p1")}};
  std::map<std::string, config::Setting> same = a;
  std::map<std::string, config::Setting> other = a;
  other["password"] = S("p2");
  const std::string url = "http://erp.local/k3cloud/";
  EXPECT_EQ(TokenKey("kingdee_login", a, url), TokenKey("kingdee_login", same, url));
  EXPECT_NE(TokenKey("kingdee_login", a, url), TokenKey("kingdee_login", other, url));
  EXPECT_NE(TokenKey("kingdee_login", a, url), TokenKey("kingdee_login", a, "http://erp2.local/k3cloud/"));
  EXPECT_NE(TokenKey("kingdee_login", a, url), TokenKey("kingdee", a, url));
  // The key names the connector but never shows a secret.
  const std::string key = TokenKey("kingdee_login", a, url);
  EXPECT_EQ(key.rfind("token:kingdee_login:", 0), 0u);
  EXPECT_EQ(key.find("p1"), std::string::npos);
}

}  // namespace
}  // namespace channelhub::dispatch
