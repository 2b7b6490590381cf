#include "connectors/ecommerce/taobao.hpp"

#include <map>
#include <tuple>
#include <vector>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/unit/ecommerce/abi_driver.hpp"

namespace channelhub::connectors::ecommerce {
namespace {

using abi::FakeHost;
using abi::Instance;
using abi::KeyValues;

chub_connector Abi() { return sdk::Describe<Taobao>("taobao", "test", CHUB_CAP_POLL, kTaobaoSettings); }

std::map<std::string, std::string> T1Params(const std::string& sign_method = "md5") {
  return {{"method", "taobao.item.seller.get"},
          {"app_key", "12345678"},
          {"session", "test"},
          {"timestamp", "2016-01-01 12:00:00"},
          {"format", "json"},
          {"v", "2.0"},
          {"sign_method", sign_method},
          {"fields", "num_iid,title,nick,price,num"},
          {"num_iid", "11223344"}};
}

int64_t At(const char* gmt8) { return *ParseTopTime(gmt8) * 1000; }

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : sdk::ParseQuery(body)) out[k] = v;
  return out;
}

KeyValues Settings(KeyValues extra = {}) {
  KeyValues s = {{"app_key", "12345678"},
                 {"app_secret", "helloworld"},
                 {"session", "6100e23657fb0b2d0c78568e55a3031134be9a3a5d4b3a365753805"},
                 {"url", "https://gw.example.test/router/rest"},
                 {"start", "2024-03-08 00:00:00"}};
  for (auto& kv : extra) {
    bool replaced = false;
    for (auto& [k, v] : s) {
      if (k == kv.first) {
        v = kv.second;
        replaced = true;
      }
    }
    if (!replaced) s.push_back(kv);
  }
  return s;
}

std::string Trades(const std::string& trades_json, bool has_next) {
  return R"({"trades_sold_increment_get_response":{"has_next":)" + std::string(has_next ? "true" : "false") +
         R"(,"trades":{"trade":[)" + trades_json + R"(]},"request_id":"rid-1"}})";
}

// The answer to a window's count (use_has_next=false).
std::string Counted(const std::string& trades_json, int total, bool has_next) {
  return R"({"trades_sold_increment_get_response":{"total_results":)" + std::to_string(total) +
         R"(,"has_next":)" + (has_next ? "true" : "false") + R"(,"trades":{"trade":[)" + trades_json +
         R"(]},"request_id":"rid-0"}})";
}

std::string Trade(const std::string& tid, const std::string& modified, const std::string& status = "WAIT_SELLER_SEND_GOODS") {
  return R"({"tid":)" + tid + R"(,"status":")" + status + R"(","modified":")" + modified +
         R"(","payment":"120.00","buyer_nick":"sandbox_cilai_c","receiver_name":"张三","orders":{"order":[{"oid":)" +
         tid + R"(,"num":1,"price":"120.00"}]}})";
}

std::string Error(int code, const std::string& msg, const std::string& sub_code = "", const std::string& sub_msg = "") {
  std::string out = R"({"error_response":{"code":)" + std::to_string(code) + R"(,"msg":")" + msg + "\"";
  if (!sub_code.empty()) out += R"(,"sub_code":")" + sub_code + R"(","sub_msg":")" + sub_msg + "\"";
  return out + R"(,"request_id":"rid-e"}})";
}

TEST(TopSignTest, OfficialVectorT1) {
  EXPECT_EQ(TopSign(T1Params(), "helloworld", "md5"), "66987CB115214E59E6EC978214934FB8");
}

TEST(TopSignTest, SkipsSignAndEmptyValues) {
  auto p = T1Params();
  p["sign"] = "ANYTHING";
  p["empty"] = "";
  EXPECT_EQ(TopSign(p, "helloworld", "md5"), "66987CB115214E59E6EC978214934FB8");
}

TEST(TopSignTest, HmacVariantsDoNotWrapTheSecret) {
  // Computed outside this code base with `openssl dgst -md5|-sha256 -hmac helloworld` over the
  // concatenation of T1's parameters (with sign_method changed accordingly).
  EXPECT_EQ(TopSign(T1Params("hmac"), "helloworld", "hmac"), "D56D7858309C31B6251083A874D48273");
  EXPECT_EQ(TopSign(T1Params("hmac-sha256"), "helloworld", "hmac-sha256"),
            "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8");
  EXPECT_THROW(TopSign(T1Params(), "helloworld", "sha1"), sdk::Failure);
}

TEST(TopTimeTest, FormatsAndParsesGmt8) {
  EXPECT_EQ(FormatTopTime(0), "1970-01-01 08:00:00");
  EXPECT_EQ(FormatTopTime(1451620800), "2016-01-01 12:00:00");
  EXPECT_EQ(ParseTopTime("2016-01-01 12:00:00"), 1451620800);
  EXPECT_EQ(ParseTopTime("1970-01-01 07:59:59"), -1);
  EXPECT_EQ(FormatTopTime(-1), "1970-01-01 07:59:59");
  EXPECT_FALSE(ParseTopTime("2016-01-01T12:00:00"));
  EXPECT_FALSE(ParseTopTime("2016-02-30 12:00:00"));
  EXPECT_FALSE(ParseTopTime("2016-01-01 24:00:00"));
  EXPECT_FALSE(ParseTopTime("2016-01-01 12:00"));
}

TEST(TaobaoTest, BuildsASignedFormRequestForTheFirstWindow) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings());
  ASSERT_TRUE(tb.ok()) << tb.error();
  auto req = tb.BuildPoll("");
  ASSERT_TRUE(req.built) << req.reason;
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "");  // the hub sends it to the source's url
  ASSERT_FALSE(req.headers.empty());
  EXPECT_EQ(req.headers[0].first, "Content-Type");
  EXPECT_EQ(req.headers[0].second, "application/x-www-form-urlencoded;charset=utf-8");
  auto form = Form(req.body);
  EXPECT_EQ(form["method"], "taobao.trades.sold.increment.get");
  EXPECT_EQ(form["app_key"], "12345678");
  EXPECT_EQ(form["session"], "6100e23657fb0b2d0c78568e55a3031134be9a3a5d4b3a365753805");
  EXPECT_EQ(form["timestamp"], "2024-03-10 12:00:00");
  EXPECT_EQ(form["format"], "json");
  EXPECT_EQ(form["v"], "2.0");
  EXPECT_EQ(form["sign_method"], "md5");
  EXPECT_EQ(form["start_modified"], "2024-03-08 00:00:00");
  EXPECT_EQ(form["end_modified"], "2024-03-09 00:00:00");
  EXPECT_EQ(form["page_no"], "1");
  EXPECT_EQ(form["page_size"], "100");
  EXPECT_EQ(form["use_has_next"], "false");  // a window starts with a count
  EXPECT_NE(form["fields"].find("tid"), std::string::npos);
  EXPECT_NE(form["fields"].find("orders"), std::string::npos);
  EXPECT_NE(form["fields"].find("receiver_name"), std::string::npos);
  EXPECT_EQ(req.body.find(' '), std::string::npos);  // spaces are percent-encoded
  const std::string sign = form["sign"];
  form.erase("sign");
  EXPECT_EQ(sign, TopSign(form, "helloworld", "md5"));
  EXPECT_EQ(sign.size(), 32u);
}

TEST(TaobaoTest, HmacSha256SigningAndSettings) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings({{"sign_method", "hmac-sha256"}, {"page_size", "40"}, {"fields", "tid,modified"}}));
  ASSERT_TRUE(tb.ok()) << tb.error();
  auto form = Form(tb.BuildPoll("").body);
  EXPECT_EQ(form["sign_method"], "hmac-sha256");
  EXPECT_EQ(form["page_size"], "40");
  EXPECT_EQ(form["fields"], "tid,modified");
  const std::string sign = form["sign"];
  form.erase("sign");
  EXPECT_EQ(sign, TopSign(form, "helloworld", "hmac-sha256"));
  EXPECT_EQ(sign.size(), 64u);
}

TEST(TaobaoTest, DefaultStartIsOneDayAgo) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  KeyValues s = Settings();
  s.pop_back();  // no "start"
  Instance tb(Abi(), &host, s);
  ASSERT_TRUE(tb.ok()) << tb.error();
  auto form = Form(tb.BuildPoll("").body);
  EXPECT_EQ(form["start_modified"], "2024-03-09 12:00:00");
  EXPECT_EQ(form["end_modified"], "2024-03-10 11:59:00");  // never closer to now than the lag
}

TEST(TaobaoTest, CountsThenReadsPagesBackwardsThenMovesWindowsUntilCaughtUp) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings({{"page_size", "2"}}));
  ASSERT_TRUE(tb.ok());

  // Window 1 starts with a count: page 1 with total_results.
  auto f1 = Form(tb.BuildPoll("").body);
  EXPECT_EQ(f1["page_no"], "1");
  EXPECT_EQ(f1["use_has_next"], "false");
  auto p1 = tb.ParsePoll("", 200,
                         Counted(Trade("2231958349123456789", "2024-03-08 23:00:00") + "," +
                                     Trade("1001", "2024-03-08 22:00:00", "TRADE_FINISHED"),
                                 5, true));
  ASSERT_FALSE(p1.failed) << p1.message;
  ASSERT_EQ(p1.payloads.size(), 2u);
  EXPECT_EQ(p1.payloads[0].event_id, "2231958349123456789:2024-03-08 23:00:00");  // > 2^53, exact
  EXPECT_EQ(p1.payloads[0].kind, "taobao.trade");
  EXPECT_EQ(p1.payloads[0].content_type, "application/json");
  rapidjson::Document doc;
  doc.Parse(p1.payloads[0].body.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["tid"].GetUint64(), 2231958349123456789u);
  EXPECT_STREQ(doc["receiver_name"].GetString(), "张三");
  EXPECT_EQ(doc["orders"]["order"].Size(), 1u);
  EXPECT_EQ(p1.payloads[1].event_id, "1001:2024-03-08 22:00:00");
  EXPECT_TRUE(p1.more);
  // 5 trades, 2 a page: read pages 3, 2, 1 next.
  EXPECT_EQ(p1.cursor, R"({"start":"2024-03-08 00:00:00","end":"2024-03-09 00:00:00","page":3})");

  // Page 3, asked for later: the window does not move with the clock.
  host.now_ms += 5'000;
  std::string cursor = p1.cursor;
  for (const char* page : {"3", "2", "1"}) {
    auto f = Form(tb.BuildPoll(cursor).body);
    EXPECT_EQ(f["start_modified"], "2024-03-08 00:00:00");
    EXPECT_EQ(f["end_modified"], "2024-03-09 00:00:00");
    EXPECT_EQ(f["page_no"], page);
    EXPECT_EQ(f["use_has_next"], "true");
    auto p = tb.ParsePoll(cursor, 200, Trades(Trade(std::string("100") + page, "2024-03-08 01:00:00"), false));
    ASSERT_FALSE(p.failed) << p.message;
    ASSERT_EQ(p.payloads.size(), 1u);
    EXPECT_EQ(p.payloads[0].event_id, std::string("100") + page + ":2024-03-08 01:00:00");
    EXPECT_TRUE(p.more) << page;  // after page 1: a whole window is still behind now - lag
    cursor = p.cursor;
  }
  EXPECT_EQ(cursor, R"({"start":"2024-03-09 00:00:00"})");

  // Window 2: empty (TOP leaves "trades" out); the next window reaches into the last day.
  auto f3 = Form(tb.BuildPoll(cursor).body);
  EXPECT_EQ(f3["start_modified"], "2024-03-09 00:00:00");
  EXPECT_EQ(f3["end_modified"], "2024-03-10 00:00:00");
  EXPECT_EQ(f3["page_no"], "1");
  auto p3 = tb.ParsePoll(cursor, 200, R"({"trades_sold_increment_get_response":{"total_results":0,"has_next":false}})");
  ASSERT_FALSE(p3.failed) << p3.message;
  EXPECT_TRUE(p3.payloads.empty());
  EXPECT_EQ(p3.cursor, R"({"start":"2024-03-10 00:00:00"})");
  EXPECT_FALSE(p3.more);  // the rest is less than a window: wait for the next interval

  // Window 3 ends a lag before now, never in the future; one page is the whole window.
  auto f4 = Form(tb.BuildPoll(p3.cursor).body);
  EXPECT_EQ(f4["start_modified"], "2024-03-10 00:00:00");
  EXPECT_EQ(f4["end_modified"], "2024-03-10 11:59:05");
  auto p4 = tb.ParsePoll(p3.cursor, 200, Counted(Trade("7", "2024-03-10 11:00:00"), 1, false));
  EXPECT_EQ(p4.payloads.size(), 1u);
  EXPECT_EQ(p4.cursor, R"({"start":"2024-03-10 11:59:05"})");
  EXPECT_FALSE(p4.more);

  // Caught up and polled again at once: a one-second window that still ends in the past.
  auto f5 = Form(tb.BuildPoll(p4.cursor).body);
  EXPECT_EQ(f5["start_modified"], "2024-03-10 11:59:05");
  EXPECT_EQ(f5["end_modified"], "2024-03-10 11:59:06");
  EXPECT_LT(*ParseTopTime(f5["end_modified"]) * 1000, host.now_ms);
}

TEST(TaobaoTest, CountWithoutTotalIsRetried) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings());
  ASSERT_TRUE(tb.BuildPoll("").built);
  auto p = tb.ParsePoll("", 200, Trades(Trade("1", "2024-03-08 01:00:00"), true));
  EXPECT_TRUE(p.failed);
  EXPECT_EQ(p.verdict, CHUB_VERDICT_RETRY);
  EXPECT_TRUE(p.payloads.empty());
}

TEST(TaobaoTest, WindowSettingLimitsTheSpan) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings({{"window", "3600"}}));
  ASSERT_TRUE(tb.ok()) << tb.error();
  auto f = Form(tb.BuildPoll("").body);
  EXPECT_EQ(f["end_modified"], "2024-03-08 01:00:00");
  auto p = tb.ParsePoll("", 200, Counted("", 0, false));
  EXPECT_EQ(p.cursor, R"({"start":"2024-03-08 01:00:00"})");
  EXPECT_TRUE(p.more);
}

TEST(TaobaoTest, LagSettingKeepsWindowsFurtherFromNow) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings({{"start", "2024-03-10 11:00:00"}, {"lag", "300"}}));
  ASSERT_TRUE(tb.ok()) << tb.error();
  auto f = Form(tb.BuildPoll("").body);
  EXPECT_EQ(f["start_modified"], "2024-03-10 11:00:00");
  EXPECT_EQ(f["end_modified"], "2024-03-10 11:55:00");
}

TEST(TaobaoTest, TopErrorsAreJudged) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings());
  struct Case {
    int status;
    std::string body;
    int verdict;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {200, Error(27, "Invalid session", "invalid-sessionkey"), CHUB_VERDICT_PERMANENT, "re-authorise"},
           {200, Error(26, "Missing session"), CHUB_VERDICT_PERMANENT, "re-authorise"},
           {200, Error(53, "Session expired"), CHUB_VERDICT_PERMANENT, "re-authorise"},
           {200, Error(7, "App Call Limited", "accesscontrol.limited", "This ban will last for 1 more seconds"),
            CHUB_VERDICT_RETRY, "limit"},
           {200, Error(15, "Remote service error", "isv.trade-service-limit", "too fast"), CHUB_VERDICT_RETRY, "limit"},
           {200, Error(15, "Remote service error", "isp.top-remote-connection-timeout", "busy"), CHUB_VERDICT_RETRY,
            "busy"},
           {200, Error(15, "Remote service error", "isv.invalid-parameter", "start_modified"), CHUB_VERDICT_PERMANENT,
            "TOP error 15 Remote service error (isv.invalid-parameter: start_modified)"},
           {200, Error(41, "Invalid arguments"), CHUB_VERDICT_PERMANENT, "TOP error 41 Invalid arguments"},
           {200, Error(25, "Invalid signature"), CHUB_VERDICT_PERMANENT, "25"},
           {502, "<html>Bad Gateway</html>", CHUB_VERDICT_RETRY, "502"},
           {503, "", CHUB_VERDICT_RETRY, "503"},
           {200, "<html>maintenance</html>", CHUB_VERDICT_RETRY, "JSON"},
           {200, R"({"something_else":{}})", CHUB_VERDICT_RETRY, "trades_sold_increment_get_response"},
           {404, "not found", CHUB_VERDICT_PERMANENT, "url"},
       }) {
    ASSERT_TRUE(tb.BuildPoll("").built);
    auto out = tb.ParsePoll("", c.status, c.body);
    EXPECT_TRUE(out.failed) << c.body;
    EXPECT_EQ(out.verdict, c.verdict) << c.body << " -> " << out.message;
    EXPECT_NE(out.message.find(c.says), std::string::npos) << out.message;
    EXPECT_FALSE(out.has_cursor);  // the hub keeps the old cursor
    EXPECT_TRUE(out.payloads.empty());
  }
}

// Found by tests/fuzz (connector_inbound): a trade nested a few hundred thousand levels deep
// overflowed the stack when it was written out as the payload.
TEST(TaobaoTest, DeeplyNestedAnswersAreRetriedNotRecursedInto) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings());
  ASSERT_TRUE(tb.BuildPoll("").built);
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  auto out = tb.ParsePoll("", 200, Trades(R"({"tid":1,"x":)" + deep + "}", false));
  EXPECT_TRUE(out.failed);
  EXPECT_EQ(out.verdict, CHUB_VERDICT_RETRY);
  EXPECT_TRUE(out.payloads.empty());
}

TEST(TaobaoTest, AnswerForAnotherCursorIsRetried) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings());
  auto none = tb.ParsePoll("", 200, Trades(Trade("1", "2024-03-08 01:00:00"), false));
  EXPECT_TRUE(none.failed);
  EXPECT_EQ(none.verdict, CHUB_VERDICT_RETRY);
  EXPECT_TRUE(none.payloads.empty());

  ASSERT_TRUE(tb.BuildPoll("").built);
  auto other = tb.ParsePoll(R"({"start":"2024-03-09 00:00:00"})", 200, Counted("", 0, false));
  EXPECT_TRUE(other.failed);
  EXPECT_EQ(other.verdict, CHUB_VERDICT_RETRY);
}

TEST(TaobaoTest, BadCursorFailsTheBuild) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  Instance tb(Abi(), &host, Settings());
  for (const std::string& cursor : {std::string("garbage"), std::string(R"({"start":"yesterday"})"),
                                    std::string(R"({"start":"2024-03-09 00:00:00","end":"2024-03-08 00:00:00"})")}) {
    auto req = tb.BuildPoll(cursor);
    EXPECT_FALSE(req.built);
    EXPECT_TRUE(req.failed);
    EXPECT_NE(req.reason.find("cursor"), std::string::npos);
  }
}

TEST(TaobaoTest, SettingsAreChecked) {
  FakeHost host;
  host.now_ms = At("2024-03-10 12:00:00");
  for (const auto& [key, value, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"session", "", "session"},
           {"app_key", "", "app_key"},
           {"app_secret", "", "app_secret"},
           {"sign_method", "sha1", "sign_method"},
           {"page_size", "101", "page_size"},
           {"page_size", "ten", "page_size"},
           {"window", "86401", "window"},
           {"window", "0", "window"},
           {"lag", "1", "lag"},
           {"start", "2024-03-08T00:00:00", "start"},
           {"start", "2024-03-11 00:00:00", "future"},
           {"url", "ftp://gw", "url"},
       }) {
    Instance tb(Abi(), &host, Settings({{key, value}}));
    EXPECT_FALSE(tb.ok()) << key << "=" << value;
    EXPECT_NE(tb.error().find(says), std::string::npos) << tb.error();
  }
}

}  // namespace
}  // namespace channelhub::connectors::ecommerce
