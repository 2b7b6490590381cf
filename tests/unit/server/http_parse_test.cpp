#include "hub/server/http_parse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace channelhub::server {
namespace {

std::string Post(const std::string& target, const std::string& body, const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpParseTest, WebhookPostBecomesTheHandlersRequest) {
  ParsedConnection c =
      ParseRequests(Post("/webhooks/webshop?shop=tea", R"({"id":1})", "X-Shopify-Topic: orders/create\r\n"), {}, 0,
                    "203.0.113.7:5000");
  ASSERT_EQ(c.requests.size(), 1u);
  EXPECT_FALSE(c.error);
  EXPECT_FALSE(c.incomplete);
  const HttpRequest& r = c.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/webhooks/webshop?shop=tea");
  EXPECT_EQ(r.path, "/webhooks/webshop");
  EXPECT_EQ(r.query, "shop=tea");
  EXPECT_EQ(r.Header("x-shopify-topic"), "orders/create");
  EXPECT_EQ(r.body, R"({"id":1})");
  EXPECT_EQ(r.remote, "203.0.113.7:5000");
  EXPECT_TRUE(c.keep_alive[0]);
}

TEST(HttpParseTest, ChunkedBodyIsJoinedAndTrailersKept) {
  const std::string bytes =
      "POST /webhooks/y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"a\":\r\n3;ext=1\r\n12}\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (std::size_t chunk : {0, 1, 5}) {
    ParsedConnection c = ParseRequests(bytes, {}, chunk);
    ASSERT_EQ(c.requests.size(), 1u) << chunk;
    EXPECT_EQ(c.requests[0].body, R"({"a":12})");
    EXPECT_EQ(c.requests[0].Header("X-Trailer"), "t");
  }
}

TEST(HttpParseTest, TrailerFieldsCountTowardMaxHeaders) {
  // Found by the http_request fuzz target in CI: a chunked body's trailer slipped fields past
  // server.max_headers, which was only counted when the header ended.
  std::string trailer;
  for (int i = 0; i < 6; ++i) trailer += "X-T" + std::to_string(i) + ": v\r\n";
  const std::string bytes = "POST /webhooks/y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "2\r\n{}\r\n0\r\n" + trailer + "\r\n";
  const ParseLimits limits{1024, 4096, 5};  // 2 header fields + 6 trailer fields > 5
  for (std::size_t chunk : {0, 1, 7}) {
    ParsedConnection c = ParseRequests(bytes, limits, chunk);
    EXPECT_TRUE(c.requests.empty()) << chunk;
    ASSERT_TRUE(c.error) << chunk;
    EXPECT_EQ(c.error->status, 431);
  }
  EXPECT_EQ(ParseRequests(bytes, ParseLimits{1024, 4096, 8}, 0).requests.size(), 1u);  // within the limit
}

TEST(HttpParseTest, PipelinedRequestsComeInOrderUntilOneCloses) {
  const std::string bytes = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n" + Post("/webhooks/a", "{}") +
                            "GET /readyz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" +
                            "GET /never HTTP/1.1\r\nHost: h\r\n\r\n";
  for (std::size_t chunk : {0, 1, 7}) {
    ParsedConnection c = ParseRequests(bytes, {}, chunk);
    ASSERT_EQ(c.requests.size(), 3u) << chunk;
    EXPECT_EQ(c.requests[0].path, "/healthz");
    EXPECT_EQ(c.requests[1].body, "{}");
    EXPECT_EQ(c.requests[2].path, "/readyz");
    EXPECT_FALSE(c.keep_alive[2]);
    EXPECT_FALSE(c.error);
  }
  // HTTP/1.0 closes after each request unless it asks otherwise.
  ParsedConnection old = ParseRequests("GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n", {});
  ASSERT_EQ(old.requests.size(), 1u);
  EXPECT_FALSE(old.keep_alive[0]);
}

TEST(HttpParseTest, RefusalsAreTheServersAnswers) {
  ParseLimits small{16, 256, 4};
  ParsedConnection big = ParseRequests(Post("/webhooks/a", std::string(17, 'x')), small);
  ASSERT_TRUE(big.error);
  EXPECT_EQ(big.error->status, 413);
  EXPECT_EQ(big.error->code, "body_too_large");
  EXPECT_EQ(big.error->message, "request body exceeds the limit of 16 bytes");
  EXPECT_TRUE(big.requests.empty());

  ParsedConnection long_header =
      ParseRequests("GET / HTTP/1.1\r\nX-Pad: " + std::string(300, 'p') + "\r\n\r\n", small);
  ASSERT_TRUE(long_header.error);
  EXPECT_EQ(long_header.error->status, 431);

  ParsedConnection many = ParseRequests("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", small);
  ASSERT_TRUE(many.error);
  EXPECT_EQ(many.error->status, 431);
  EXPECT_EQ(many.error->message, "the request has 5 header fields; at most 4 are accepted");

  ParsedConnection no_length = ParseRequests("POST /webhooks/a HTTP/1.1\r\nHost: h\r\n\r\n{}", {});
  ASSERT_TRUE(no_length.error);
  EXPECT_EQ(no_length.error->status, 411);

  for (const std::string& bad : {std::string("POST /a HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
                                 std::string("POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                                 std::string("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    ParsedConnection c = ParseRequests(bad, {});
    ASSERT_TRUE(c.error) << bad;
    EXPECT_EQ(c.error->status, 400) << bad;
    EXPECT_EQ(c.error->message.rfind("malformed HTTP request: ", 0), 0u) << c.error->message;
  }
}

TEST(HttpParseTest, ARequestCutShortIsClosedWithoutAnAnswer) {
  ParsedConnection c = ParseRequests("POST /webhooks/a HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\"", {});
  EXPECT_TRUE(c.requests.empty());
  EXPECT_FALSE(c.error);
  EXPECT_TRUE(c.incomplete);
  // No bytes after a complete request: the client just closed.
  ParsedConnection done = ParseRequests("GET /healthz HTTP/1.1\r\n\r\n", {});
  EXPECT_EQ(done.requests.size(), 1u);
  EXPECT_FALSE(done.incomplete);
  EXPECT_FALSE(done.error);
}

TEST(HttpParseTest, ExpectContinueGetsAnInterimAnswer) {
  ParsedConnection c = ParseRequests(Post("/webhooks/a", "{}", "Expect: 100-continue\r\n"), {});
  ASSERT_EQ(c.requests.size(), 1u);
  EXPECT_EQ(c.continues, 1);
  EXPECT_EQ(ParseRequests(Post("/webhooks/a", "{}"), {}).continues, 0);
}

}  // namespace
}  // namespace channelhub::server
