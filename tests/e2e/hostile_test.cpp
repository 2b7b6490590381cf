// Hostile input against the real binary: malformed, truncated and oversized bodies, invalid
// UTF-8, deep nesting, XML bombs and entities, broken HTTP, bad and replayed signatures, slow
// and silent clients, connection floods. Each is answered with its 4xx (or the connection is
// closed), the hub keeps serving everyone else, and exactly the acknowledged events are
// delivered, once each.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hub/common/time.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

const std::string kMappingsDir = std::string(CHUB_SOURCE_DIR) + "/mappings";
const std::string kErpPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_erp.so";

// Small limits and timeouts so that the whole suite stays fast.
constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
server:
  body_limit: 5MiB
  header_limit: 8KiB
  max_headers: 50
  read_timeout: 2s
  idle_timeout: 3s
  max_connections_per_client: 64
sources:
  partner:                      # JSON, HMAC over "<timestamp>.<body>", replay cache
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
    auth: { type: hmac_sha256, secret: s3cret, header: X-Signature, timestamp_header: X-Timestamp, window: 2m }
  idoc:                         # XML through a mapping file, in the hub's own ingest
    connector: generic
    mapping: sap/orders05.to_canon.yaml
    event_id: { header: X-Event-Id }
  sap:                          # XML through the SAP IDoc plugin connector
    connector: sap_idoc
    settings: { user: PI_CHUB, password: "Idoc-e2e-7731" }
    mapping: { ORDERS05: sap/orders05.to_canon.yaml }
  limited:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
    rate_limit: { rate: 1, burst: 1 }
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [partner, idoc, sap, limited], types: ["order.*", "customer.*"], to: [archive] }
)";

constexpr char kSapAuth[] = "Basic UElfQ0hVQjpJZG9jLWUyZS03NzMx";  // PI_CHUB:Idoc-e2e-7731

// ---- raw sockets, for what a well-behaved client would never send ----------------------------

// A TCP connection to 127.0.0.1:port, optionally from another loopback address ("127.0.0.2").
int RawConnect(uint16_t port, const char* from = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (from != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendRaw(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// What the peer sent until it closed the connection (or "timeout" passed: then *closed is false).
std::string ReadUntilClosed(int fd, Millis timeout, bool* closed) {
  std::string got;
  const auto deadline = Clock::now() + timeout;
  *closed = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return got;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {  // 0: closed; < 0: reset, which is a close too
      *closed = true;
      return got;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
}

// The status codes of every response in "wire", in order.
std::vector<int> StatusesIn(const std::string& wire) {
  std::vector<int> out;
  for (std::size_t at = 0; (at = wire.find("HTTP/1.1 ", at)) != std::string::npos; at += 9) {
    out.push_back(std::atoi(wire.c_str() + at + 9));
  }
  return out;
}

// Sends "wire" on a fresh connection and returns everything the hub answers until it closes
// (within "timeout").
std::string RawExchange(uint16_t port, std::string_view wire, Millis timeout, bool* closed) {
  int fd = RawConnect(port);
  if (fd < 0) return "connect failed";
  SendRaw(fd, wire);
  std::string got = ReadUntilClosed(fd, timeout, closed);
  ::close(fd);
  return got;
}

// ---- payloads -------------------------------------------------------------------------------

std::string Repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

std::string OrdersFixture() { return ReadFile(kMappingsDir + "/sap/orders05.to_canon.dealer.in.xml"); }

// The shipped ORDERS05 IDoc with its own DOCNUM and PO number.
std::string Orders05(const std::string& docnum, const std::string& po) {
  return Replace(Replace(OrdersFixture(), "<DOCNUM>0000000081234567<", "<DOCNUM>" + docnum + "<"),
                 "<BELNR>HD-PO-88017<", "<BELNR>" + po + "<");
}

// ---- the fixture ----------------------------------------------------------------------------

class HostileE2E : public HubTest {
 protected:
  void SetUp() override {
    std::string yaml = Replace(Replace(kConfig, "@MAPPINGS@", kMappingsDir), "@PLUGIN@", kErpPlugin);
    ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(yaml)));
    archive_ = tmp_.Join("out/events.jsonl");
  }

  // A correctly signed POST to "partner".
  Ack Signed(const std::string& id, const std::string& body, int64_t ts = 0, Headers extra = {},
             const std::string& content_type = "application/json") {
    if (ts == 0) ts = NowUnixMillis() / 1000;
    const std::string t = std::to_string(ts);
    Headers h = {{"X-Event-Id", id}, {"X-Timestamp", t}, {"X-Signature", HmacSha256Hex("s3cret", t + "." + body)}};
    for (auto& e : extra) h.push_back(std::move(e));
    return Record(id, PostWebhook(port(), "partner", body, std::move(h), content_type));
  }

  Ack PostXml(const std::string& id, const std::string& body, const std::string& content_type = "application/xml") {
    return Record(id, PostWebhook(port(), "idoc", body, {{"X-Event-Id", id}}, content_type));
  }

  // Remembers which inbound ids were acknowledged and which refused.
  Ack Record(const std::string& id, Ack ack) {
    if (ack.status >= 200 && ack.status < 300) {
      accepted_.insert(ack.event_id.empty() ? id : ack.event_id);
    } else {
      refused_.insert(id);
    }
    return ack;
  }

  // The hub answers "status" with error code "code" and a message containing "needle".
  void ExpectRefused(const Ack& ack, int status, const std::string& code, const std::string& needle = "") {
    EXPECT_EQ(ack.status, status) << ack.ToString().substr(0, 400);
    if (!code.empty()) {
      EXPECT_EQ(ack.error, code) << ack.ToString().substr(0, 400);
    }
    if (!needle.empty()) {
      auto message = JsonString(ParseJson(ack.body), "/message").value_or("");
      EXPECT_NE(message.find(needle), std::string::npos) << "\"" << needle << "\" not in: " << ack.body.substr(0, 400);
    }
  }

  // /healthz answers and a good event is acknowledged: the hub still serves.
  void ExpectStillServing(const std::string& tag) {
    ASSERT_TRUE(hub().running()) << "the hub died";
    auto alive = HttpGet(port(), "/healthz");
    ASSERT_TRUE(alive.ok()) << alive.status().ToString();
    EXPECT_EQ(alive->status, 200);
    Ack ok = Signed("alive-" + tag, CanonicalOrderJson("SO-ALIVE-" + tag));
    EXPECT_EQ(ok.status, 202) << ok.ToString();
  }

  // Every acknowledged inbound event reached the archive, no CloudEvent twice, nothing refused.
  void ExpectDeliveredExactlyOnce() {
    auto inbound_ids = [&] {
      std::map<std::string, int> n;
      for (const auto& ce : ReadCloudEvents(archive_)) ++n[InboundIdOf(ce.id)];
      return n;
    };
    const bool all = WaitFor([&] {
      auto n = inbound_ids();
      return std::all_of(accepted_.begin(), accepted_.end(), [&](const std::string& id) { return n.count(id) > 0; });
    }, kDeliveryTimeout, Millis(100));
    EXPECT_TRUE(all) << "acknowledged but not delivered; archive:\n" << ReadFile(archive_);
    std::set<std::string> ce_ids;
    for (const auto& ce : ReadCloudEvents(archive_)) {
      ASSERT_TRUE(ce.valid) << ce.raw;
      EXPECT_TRUE(ce_ids.insert(ce.id).second) << "delivered twice: " << ce.id;
      const std::string in = InboundIdOf(ce.id);
      EXPECT_EQ(refused_.count(in), 0u) << "a refused request was delivered: " << ce.raw;
      EXPECT_EQ(accepted_.count(in), 1u) << "delivered but never acknowledged: " << ce.raw;
    }
  }

  std::string archive_;
  std::set<std::string> accepted_;
  std::set<std::string> refused_;
};

// ---- bodies ---------------------------------------------------------------------------------

TEST_F(HostileE2E, MalformedJsonBodiesAreRefusedWithTheirPosition) {
  EXPECT_EQ(Signed("good-json-1", CanonicalOrderJson("SO-GOOD-1")).status, 202);

  const std::string order = CanonicalOrderJson("SO-BAD");
  ExpectRefused(Signed("bad-json-syntax", R"({"order_no":"SO-BAD",})"), 400, "malformed_body", "offset 21");
  ExpectRefused(Signed("bad-json-truncated", order.substr(0, order.size() / 2)), 400, "malformed_body", "offset");
  ExpectRefused(Signed("bad-json-empty", ""), 400, "malformed_body", "empty");
  ExpectRefused(Signed("bad-json-two-roots", order + order), 400, "malformed_body", "offset");
  // Invalid UTF-8 in a string: a stray byte, an overlong '/', a lone surrogate, a 5-byte form.
  for (const char* bad : {"\xC3\x28", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF8\x88\x80\x80\x80", "\xFF"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(Signed(std::string("bad-json-utf8-") + std::to_string(std::string(bad).size()) + "-" +
                             std::to_string(static_cast<unsigned char>(bad[0])),
                         Replace(order, "SO-BAD", std::string("SO-") + bad)),
                  400, "malformed_body", "encoding");
  }
  // NUL bytes: inside a string, and after a complete document (RapidJSON alone would stop there).
  ExpectRefused(Signed("bad-json-nul-inside", Replace(order, "SO-BAD", std::string("SO-\0X", 5))), 400,
                "malformed_body", "NUL");
  ExpectRefused(Signed("bad-json-nul-after", order + std::string("\0{}", 3)), 400, "malformed_body", "NUL");

  // Nesting: 10,000 levels, 1,000,000 levels (a 2 MB body: no stack is spent on it), objects.
  ExpectRefused(Signed("bad-json-deep", std::string(10000, '[') + std::string(10000, ']')), 400, "body_too_complex",
                "nested deeper than 64 levels");
  ExpectRefused(Signed("bad-json-deeper", std::string(1000000, '[') + std::string(1000000, ']')), 400,
                "body_too_complex", "nested deeper");
  ExpectRefused(Signed("bad-json-deep-objects", Repeat("{\"a\":", 10000) + "1" + std::string(10000, '}')), 400,
                "body_too_complex", "nested deeper");
  ExpectRefused(Signed("bad-json-deep-unclosed", std::string(3000000, '[')), 400, "body_too_complex");
  // 64 levels are still accepted (and, being no order, dead-lettered rather than delivered).
  // Not posted here: every acknowledged event of this suite must reach the archive.

  // A refused id was not journaled: the same id with a good body is new.
  Ack again = Signed("bad-json-syntax", CanonicalOrderJson("SO-AFTER-BAD"));
  EXPECT_EQ(again.status, 202) << again.ToString();
  EXPECT_EQ(again.duplicate, std::optional<bool>(false)) << again.ToString();
  refused_.erase("bad-json-syntax");

  ExpectStillServing("json");
  ExpectDeliveredExactlyOnce();
}

TEST_F(HostileE2E, MalformedAndHostileXmlIsRefusedAndNeverExpanded) {
  const std::string fixture = Orders05("0000000090000001", "HOST-PO-1");
  ASSERT_NE(fixture.find("HOST-PO-1"), std::string::npos) << "the shipped fixture changed";
  Ack good = PostXml("good-xml-1", fixture);
  EXPECT_EQ(good.status, 202) << good.ToString();
  Ack via_sap = Record("0000000090000002", PostWebhook(port(), "sap", Orders05("0000000090000002", "HOST-PO-2"),
                                                        {{"Authorization", kSapAuth}}, "application/xml"));
  EXPECT_EQ(via_sap.status, 200) << via_sap.ToString();

  ExpectRefused(PostXml("bad-xml-truncated", fixture.substr(0, fixture.size() / 2)), 400, "malformed_body",
                "XML parse error at offset");
  ExpectRefused(PostXml("bad-xml-mismatch", "<ORDERS05><IDOC></ORDERS05>"), 400, "malformed_body", "offset");
  ExpectRefused(PostXml("bad-xml-empty", ""), 400, "malformed_body");
  ExpectRefused(PostXml("bad-xml-text", "just text", "text/xml"), 400, "malformed_body");
  // Invalid UTF-8 in text and in an attribute; an overlong form; a NUL byte.
  ExpectRefused(PostXml("bad-xml-utf8", Replace(fixture, "HOST-PO-1", "HOST-\xC3\x28")), 400, "malformed_body",
                "UTF-8");
  ExpectRefused(PostXml("bad-xml-utf8-attr", Replace(fixture, "BEGIN=\"1\"", "BEGIN=\"\xFE\"")), 400,
                "malformed_body", "UTF-8");
  ExpectRefused(PostXml("bad-xml-overlong", Replace(fixture, "HOST-PO-1", "HOST-\xC0\xBC")), 400, "malformed_body",
                "UTF-8");
  ExpectRefused(PostXml("bad-xml-nul", Replace(fixture, "HOST-PO-1", std::string("HOST-\0-1", 8))), 400,
                "malformed_body", "NUL");
  ExpectRefused(PostXml("bad-xml-nul-after", fixture + std::string("\0<x/>", 5)), 400, "malformed_body", "NUL");

  // Depth: 10,000 nested elements; 1,000,000 unclosed ones (3 MB).
  ExpectRefused(PostXml("bad-xml-deep", Repeat("<a>", 10000) + Repeat("</a>", 10000)), 400, "body_too_complex",
                "nested deeper than 256 levels");
  ExpectRefused(PostXml("bad-xml-deeper", Repeat("<a>", 1000000)), 400, "");
  // Node count: 1,000,000 tiny elements in 4 MB, within the 5 MiB body limit.
  ExpectRefused(PostXml("bad-xml-wide", "<r>" + Repeat("<a/>", 1000000) + "</r>"), 400, "body_too_complex",
                "more than 200000 nodes");
  ExpectRefused(PostXml("bad-xml-attrs", "<r " + [] {
                  std::string a;
                  for (int i = 0; i < 250000; ++i) a += "a" + std::to_string(i) + "=\"\" ";
                  return a;
                }() + "/>"),
                400, "body_too_complex", "nodes");

  // Billion laughs, an external entity, an external DTD, a parameter entity: a DOCTYPE is refused.
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    laughs += " <!ENTITY lol" + std::to_string(i) + " \"" + Repeat("&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";", 10) + "\">\n";
  }
  laughs += "]>\n<ORDERS05><IDOC><E1EDK02><BELNR>&lol9;</BELNR></E1EDK02></IDOC></ORDERS05>";
  const std::string xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE ORDERS05 [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
                          "<ORDERS05><IDOC><E1EDK02><BELNR>&xxe;</BELNR></E1EDK02></IDOC></ORDERS05>";
  const std::string dtd = "<?xml version=\"1.0\"?>\n<!DOCTYPE ORDERS05 SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n" +
                          fixture.substr(fixture.find("<ORDERS05>"));
  const std::string param = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [ <!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; ]>\n<r/>";
  for (const auto& [id, body] : std::vector<std::pair<std::string, std::string>>{
           {"bad-xml-laughs", laughs}, {"bad-xml-xxe", xxe}, {"bad-xml-dtd", dtd}, {"bad-xml-param", param}}) {
    SCOPED_TRACE(id);
    Ack a = PostXml(id, body);
    ExpectRefused(a, 400, "malformed_body", "DOCTYPE");
    EXPECT_EQ(a.body.find("root:"), std::string::npos) << "a file leaked: " << a.body;
    // The same through the SAP connector (which checks its Basic credentials first).
    Ack s = Record(id + "-sap", PostWebhook(port(), "sap", body, {{"Authorization", kSapAuth}}, "application/xml"));
    EXPECT_EQ(s.status, 400) << s.ToString();
    EXPECT_NE(s.body.find("DOCTYPE"), std::string::npos) << s.body;
  }
  // A DOCTYPE spelt in UTF-16 is still seen.
  std::string utf16 = "\xFF\xFE";
  for (char c : xxe) utf16 += std::string{c, '\0'};
  ExpectRefused(PostXml("bad-xml-utf16-doctype", utf16), 400, "malformed_body", "DOCTYPE");

  ExpectStillServing("xml");
  ExpectDeliveredExactlyOnce();
}

TEST_F(HostileE2E, SignaturesThatAreMissingWrongReplayedOrStaleAre401) {
  const std::string body = CanonicalOrderJson("SO-SIG");
  const int64_t now = NowUnixMillis() / 1000;
  const std::string t = std::to_string(now);
  auto post = [&](const std::string& id, Headers h) {
    h.emplace_back("X-Event-Id", id);
    return Record(id, PostWebhook(port(), "partner", body, std::move(h)));
  };
  ExpectRefused(post("sig-missing", {{"X-Timestamp", t}}), 401, "unauthorized");
  ExpectRefused(post("sig-wrong", {{"X-Timestamp", t}, {"X-Signature", HmacSha256Hex("guess", t + "." + body)}}), 401,
                "unauthorized");
  ExpectRefused(post("sig-garbage", {{"X-Timestamp", t}, {"X-Signature", std::string(5000, 'z')}}), 401,
                "unauthorized");
  ExpectRefused(post("sig-no-ts", {{"X-Signature", HmacSha256Hex("s3cret", body)}}), 401, "unauthorized");
  ExpectRefused(post("sig-bad-ts", {{"X-Timestamp", "12abc"}, {"X-Signature", HmacSha256Hex("s3cret", "12abc." + body)}}),
                401, "unauthorized");
  ExpectRefused(Signed("sig-stale", body, now - 3600), 401, "unauthorized");
  ExpectRefused(Signed("sig-future", body, now + 3600), 401, "unauthorized");
  // Signed for another body.
  ExpectRefused(post("sig-other-body", {{"X-Timestamp", t}, {"X-Signature", HmacSha256Hex("s3cret", t + ".{}")}}), 401,
                "unauthorized");
  // Accepted once; the very same request again is a replay.
  const Headers signed_headers = {{"X-Timestamp", t}, {"X-Signature", HmacSha256Hex("s3cret", t + "." + body)}};
  Ack first = post("sig-once", signed_headers);
  EXPECT_EQ(first.status, 202) << first.ToString();
  Ack replay = PostWebhook(port(), "partner", body, [&] {
    Headers h = signed_headers;
    h.emplace_back("X-Event-Id", "sig-replayed");
    return h;
  }());
  refused_.insert("sig-replayed");
  ExpectRefused(replay, 401, "unauthorized");
  // A refusal says nothing about which check failed.
  EXPECT_EQ(replay.body.find("replay"), std::string::npos) << replay.body;

  // A rate-limited source: 429 with Retry-After beyond its burst.
  Ack in_burst = Record("rl-1", PostWebhook(port(), "limited", CanonicalOrderJson("SO-RL-1"), {{"X-Event-Id", "rl-1"}}));
  EXPECT_EQ(in_burst.status, 202) << in_burst.ToString();
  auto over = HttpCall(port(), [] {
    HttpRequest r;
    r.method = "POST";
    r.target = "/webhooks/limited";
    r.headers = {{"Content-Type", "application/json"}, {"X-Event-Id", "rl-2"}};
    r.body = CanonicalOrderJson("SO-RL-2");
    return r;
  }());
  refused_.insert("rl-2");
  ASSERT_TRUE(over.ok()) << over.status().ToString();
  EXPECT_EQ(over->status, 429) << over->body;
  EXPECT_TRUE(over->Header("Retry-After").has_value());

  ExpectStillServing("sig");
  ExpectDeliveredExactlyOnce();
}

// ---- HTTP itself ----------------------------------------------------------------------------

TEST_F(HostileE2E, BrokenHttpGetsItsStatusAndTheConnectionIsClosed) {
  const std::string order = CanonicalOrderJson("SO-HTTP");
  // Bodies over the 5 MiB limit, announced and chunked.
  Ack big = Signed("http-big", "{\"pad\":\"" + std::string(6u << 20, 'x') + "\"}");
  ExpectRefused(big, 413, "body_too_large", "5242880");
  {
    std::string chunked = "POST /webhooks/idoc HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 6; ++i) chunked += "100000\r\n" + chunk + "\r\n";
    chunked += "0\r\n\r\n";
    bool closed = false;
    std::string got = RawExchange(port(), chunked, Millis(5000), &closed);
    EXPECT_EQ(StatusesIn(got), std::vector<int>{413}) << got.substr(0, 300);
    EXPECT_TRUE(closed);
  }
  // A chunked body within the limit is fine.
  {
    const std::string xml = Orders05("0000000090000003", "HOST-PO-3");
    std::string wire = "POST /webhooks/idoc HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nX-Event-Id: "
                       "http-chunked\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", xml.size());
    wire += std::string(size) + "\r\n" + xml + "\r\n0\r\n\r\n";
    bool closed = false;
    std::string got = RawExchange(port(), wire, Millis(5000), &closed);
    EXPECT_EQ(StatusesIn(got), std::vector<int>{202}) << got;
    if (StatusesIn(got) == std::vector<int>{202}) accepted_.insert("http-chunked");
  }
  // Headers: one too large, too many.
  {
    HttpRequest r;
    r.method = "POST";
    r.target = "/webhooks/idoc";
    r.headers = {{"Content-Type", "application/xml"}, {"X-Big", std::string(10000, 'h')}, {"X-Event-Id", "http-hdr"}};
    r.body = OrdersFixture();
    auto res = HttpCall(port(), r);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 431) << res->body;
    refused_.insert("http-hdr");
    for (int i = 0; i < 80; ++i) r.headers.emplace_back("X-H" + std::to_string(i), "v");
    r.headers.erase(r.headers.begin() + 1);
    r.headers[1].second = "http-many";
    res = HttpCall(port(), r);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 431) << res->body;
    EXPECT_NE(res->body.find("header fields"), std::string::npos) << res->body;
    refused_.insert("http-many");
  }
  // Content-Length: not a number, negative, two that disagree, beside chunked; none at all.
  const std::string head = "POST /webhooks/idoc HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n";
  for (const std::string& cl : {std::string("Content-Length: abc\r\n"), std::string("Content-Length: -5\r\n"),
                                std::string("Content-Length: 10\r\nContent-Length: 20\r\n"),
                                std::string("Content-Length: 99999999999999999999999\r\n")}) {
    SCOPED_TRACE(cl);
    bool closed = false;
    std::string got = RawExchange(port(), head + cl + "\r\n<r/>", Millis(5000), &closed);
    EXPECT_EQ(StatusesIn(got), std::vector<int>{400}) << got;
    EXPECT_TRUE(closed);
  }
  {
    bool closed = false;
    std::string got = RawExchange(port(), head + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<r/>\r\n0\r\n\r\n",
                                  Millis(5000), &closed);
    ASSERT_FALSE(StatusesIn(got).empty()) << got;
    EXPECT_EQ(StatusesIn(got)[0], 400) << got;
    EXPECT_TRUE(closed);
  }
  {
    bool closed = false;
    std::string got = RawExchange(port(), head + "X-Event-Id: http-nolen\r\n\r\n" + OrdersFixture(), Millis(5000), &closed);
    EXPECT_EQ(StatusesIn(got), std::vector<int>{411}) << got;
    EXPECT_NE(got.find("Content-Length"), std::string::npos) << got;
    EXPECT_TRUE(closed);
    refused_.insert("http-nolen");
  }
  // Content-Length larger than the body: no answer, closed after the 2 s read timeout.
  {
    const auto t0 = Clock::now();
    bool closed = false;
    std::string got = RawExchange(port(), head + "X-Event-Id: http-short\r\nContent-Length: 1000\r\n\r\n<r/>",
                                  Millis(8000), &closed);
    const auto took = std::chrono::duration_cast<Millis>(Clock::now() - t0);
    EXPECT_TRUE(closed) << got;
    EXPECT_TRUE(StatusesIn(got).empty() || StatusesIn(got) == std::vector<int>{408}) << got;
    EXPECT_GE(took.count(), 1500);
    EXPECT_LE(took.count(), 6000);
    refused_.insert("http-short");
  }
  // Content-Length smaller than the body: the cut body is refused, the rest is no request.
  {
    bool closed = false;
    const std::string xml = OrdersFixture();
    std::string got = RawExchange(port(), head + "X-Event-Id: http-long\r\nContent-Length: 100\r\n\r\n" + xml,
                                  Millis(5000), &closed);
    std::vector<int> statuses = StatusesIn(got);
    ASSERT_FALSE(statuses.empty()) << got;
    EXPECT_EQ(statuses[0], 400) << got;
    EXPECT_TRUE(closed);
    refused_.insert("http-long");
  }
  // Content types.
  ExpectRefused(Signed("http-ct-text", order, 0, {}, "text/plain"), 415, "unsupported_media_type", "text/plain");
  ExpectRefused(Signed("http-ct-form", CanonicalOrderJson("SO-HTTP-FORM"), 0, {}, "application/x-www-form-urlencoded"), 415,
                "unsupported_media_type");
  ExpectRefused(PostXml("http-ct-missing", "order_no=SO-1", ""), 415, "unsupported_media_type");
  ExpectRefused(PostXml("http-ct-json-for-xml", OrdersFixture(), "application/json"), 400, "malformed_body");
  // Methods and paths.
  for (const char* method : {"GET", "PUT", "DELETE", "PATCH"}) {
    HttpRequest r;
    r.method = method;
    r.target = "/webhooks/idoc";
    if (std::string_view(method) != "GET") r.body = "<r/>";
    auto res = HttpCall(port(), r);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 405) << method << " " << res->body;
  }
  auto nowhere = HttpGet(port(), "/etc/passwd");
  ASSERT_TRUE(nowhere.ok());
  EXPECT_EQ(nowhere->status, 404);
  ExpectRefused(Record("http-nosource", PostWebhook(port(), "../partner", order)), 404, "unknown_source");
  // Garbage instead of HTTP.
  for (const std::string& junk : {std::string("GARBAGE\r\n\r\n"), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                                  std::string("GET / HTTP/9.9\r\n\r\n"), std::string("POST /webhooks/idoc HTTP/1.1\r\nHost x\r\n\r\n")}) {
    bool closed = false;
    std::string got = RawExchange(port(), junk, Millis(5000), &closed);
    EXPECT_TRUE(closed);
    std::vector<int> statuses = StatusesIn(got);
    EXPECT_TRUE(statuses.empty() || statuses == std::vector<int>{400}) << got;
  }

  ExpectStillServing("http");
  ExpectDeliveredExactlyOnce();
}

// ---- slow, silent and greedy clients --------------------------------------------------------

TEST_F(HostileE2E, SlowSilentAndFloodingClientsDoNotStarveOthers) {
  // Slow-loris: the headers one byte every 300 ms; cut off 2 s (read_timeout) after the first.
  std::atomic<bool> slow_closed{false};
  std::atomic<long> slow_after_ms{-1};
  std::thread slow([&] {
    int fd = RawConnect(port());
    if (fd < 0) return;
    const std::string head = "POST /webhooks/idoc HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                             "X-Event-Id: slow-loris\r\nContent-Length: 4\r\n\r\n<r/>";
    const auto t0 = Clock::now();
    for (char c : head) {
      if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 300) > 0) break;  // the hub spoke or closed
    }
    bool closed = false;
    ReadUntilClosed(fd, Millis(5000), &closed);
    slow_after_ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
    slow_closed = closed;
    ::close(fd);
  });
  refused_.insert("slow-loris");
  // A silent client: connects and sends nothing; closed after the 3 s idle timeout.
  int silent = RawConnect(port());
  ASSERT_GE(silent, 0);
  const auto silent_t0 = Clock::now();

  // Meanwhile others are served at once.
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    Ack ok = Signed("while-slow-" + std::to_string(i), CanonicalOrderJson("SO-WS-" + std::to_string(i)));
    EXPECT_EQ(ok.status, 202) << ok.ToString();
    EXPECT_LT(std::chrono::duration_cast<Millis>(Clock::now() - t0).count(), 1000);
    std::this_thread::sleep_for(Millis(200));
  }
  slow.join();
  EXPECT_TRUE(slow_closed) << "the slow-loris connection was not closed";
  EXPECT_GE(slow_after_ms.load(), 1500);
  EXPECT_LE(slow_after_ms.load(), 4500) << "cut off only after " << slow_after_ms.load() << " ms";

  bool silent_closed = false;
  ReadUntilClosed(silent, Millis(8000), &silent_closed);
  const auto silent_ms = std::chrono::duration_cast<Millis>(Clock::now() - silent_t0).count();
  ::close(silent);
  EXPECT_TRUE(silent_closed);
  EXPECT_GE(silent_ms, 2500);
  EXPECT_LE(silent_ms, 6500);

  // A flood: 300 connections from 127.0.0.2 (max_connections_per_client: 64). The ones over the
  // cap are closed at once; a client at 127.0.0.1 is served throughout.
  std::vector<int> flood;
  for (int i = 0; i < 300; ++i) {
    int fd = RawConnect(port(), "127.0.0.2");
    if (fd >= 0) flood.push_back(fd);
  }
  ASSERT_EQ(flood.size(), 300u) << "could not open the flood's connections";
  Ack during = Signed("during-flood", CanonicalOrderJson("SO-FLOOD"));
  EXPECT_EQ(during.status, 202) << during.ToString();
  auto health = HttpGet(port(), "/healthz");
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->status, 200);
  std::size_t closed_at_once = 0;
  WaitFor([&] {
    closed_at_once = 0;
    for (int fd : flood) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) {
        char c;
        if (::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) ++closed_at_once;
      }
    }
    return closed_at_once >= 236;
  }, Millis(5000), Millis(100));
  EXPECT_EQ(closed_at_once, 236u) << "64 stay open (until the idle timeout), the rest are refused";
  // The flood's open connections can still be used: each gets its answer.
  int served = 0;
  for (int fd : flood) {
    if (served >= 3) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) continue;  // closed
    SendRaw(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    std::string got = ReadUntilClosed(fd, Millis(3000), &closed);
    EXPECT_EQ(StatusesIn(got), std::vector<int>{200}) << got;
    ++served;
  }
  for (int fd : flood) ::close(fd);
  EXPECT_TRUE(WaitFor([&] { return hub().Log().find("the per-client limit") != std::string::npos; }, Millis(2000)));

  ExpectStillServing("flood");
  ExpectDeliveredExactlyOnce();
}

}  // namespace
}  // namespace channelhub::e2e
