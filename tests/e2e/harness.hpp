// End-to-end harness: runs the real `channelhub` binary as a user would, against temporary
// directories, ephemeral ports on 127.0.0.1, a tiny blocking HTTP client and a scripted fake HTTP
// server. Every wait is bounded; every child process is killed when its owner goes away.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "hub/common/status.hpp"

namespace channelhub::e2e {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

inline constexpr Millis kReadyTimeout{20000};     // hub start until the ready file appears
inline constexpr Millis kIoTimeout{10000};        // one HTTP exchange, connect to last byte
inline constexpr Millis kDeliveryTimeout{20000};  // an acknowledged event reaches its destination
inline constexpr Millis kStopTimeout{20000};      // SIGTERM until exit; then SIGKILL

// ---------------------------------------------------------------------------------------------
// Waiting and files

// Calls "done" every "poll" until it returns true or "timeout" has passed. Returns the last
// answer of "done" (it is called once more at the deadline).
bool WaitFor(const std::function<bool()>& done, Millis timeout, Millis poll = Millis(20));

// The whole file, or "" when it does not exist.
std::string ReadFile(const std::string& path);

// Writes "contents" to "path", creating the parent directories. False on any error.
bool WriteFile(const std::string& path, std::string_view contents);

// The lines of "path" that are terminated by '\n' (without it). A torn last line is left out.
std::vector<std::string> ReadCompleteLines(const std::string& path);

// Waits until "path" has at least "n" complete lines.
bool WaitForLines(const std::string& path, std::size_t n, Millis timeout = kDeliveryTimeout);

// A fresh directory under /tmp (mkdtemp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + relative
  std::string Join(std::string_view relative) const;

 private:
  std::string path_;
};

// Every occurrence of "from" in "text" replaced by "to" (for filling in configuration templates).
std::string Replace(std::string text, const std::string& from, const std::string& to);

// ---------------------------------------------------------------------------------------------
// JSON and crypto helpers

// Parses "text"; check HasParseError() on the result.
rapidjson::Document ParseJson(std::string_view text);

// The string at JSON Pointer "pointer" in "root", or std::nullopt when absent or not a string.
std::optional<std::string> JsonString(const rapidjson::Value& root, const char* pointer);

// True when the member at "pointer" exists.
bool JsonHas(const rapidjson::Value& root, const char* pointer);

// "s" as the inside of a JSON string literal (quotes not included).
std::string JsonEscape(std::string_view s);

// HMAC-SHA256 of "message" under "key", as lowercase hex or standard Base64 (with padding).
std::string HmacSha256Hex(std::string_view key, std::string_view message);
std::string HmacSha256Base64(std::string_view key, std::string_view message);

// ---------------------------------------------------------------------------------------------
// HTTP

using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first header named "name" (case-insensitive), or std::nullopt.
std::optional<std::string> FindHeader(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  Headers headers;   // Host and Content-Length are added by the client unless given here
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;

  std::optional<std::string> Header(std::string_view name) const { return FindHeader(headers, name); }
  // The body parsed as JSON (HasParseError() when it is not JSON).
  rapidjson::Document Json() const { return ParseJson(body); }
};

// A blocking HTTP/1.1 client connection to 127.0.0.1:port; one request at a time, keep-alive.
// Every exchange is bounded by the timeout given at construction. Not thread-safe.
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port, Millis timeout = kIoTimeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Connects when not connected. Called by RoundTrip() as needed.
  Status Connect();
  void Close();
  bool is_open() const { return fd_ >= 0; }
  // How many TCP connections this object has opened so far.
  int connects() const { return connects_; }

  // Sends "request" and reads the whole response (Content-Length, chunked, or until close).
  // If the peer answers before the body is fully sent (413), the answer is still returned.
  // The connection stays open unless the server said "Connection: close" or an error happened.
  Result<HttpResponse> RoundTrip(const HttpRequest& request);

 private:
  uint16_t port_;
  Millis timeout_;
  int fd_ = -1;
  int connects_ = 0;
  std::string buffer_;  // bytes received beyond the last response
};

// One exchange on a fresh connection.
Result<HttpResponse> HttpCall(uint16_t port, const HttpRequest& request, Millis timeout = kIoTimeout);
Result<HttpResponse> HttpGet(uint16_t port, std::string target);
Result<HttpResponse> HttpPost(uint16_t port, std::string target, std::string body, Headers headers = {},
                              std::string content_type = "application/json");

// True when something accepts TCP connections on 127.0.0.1:port.
bool IsListening(uint16_t port);

// A port that was free a moment ago (bound to 0, read back, closed). For tests that need to know
// a port before the hub binds it.
uint16_t PickFreePort();

// One scripted answer of the fake server.
struct ScriptedReply {
  int status = 200;
  std::string body = "{}";
  Millis delay{0};  // wait this long before answering (a slow destination)
  Headers headers;  // extra response headers
  bool hang_up = false;  // after the delay, close the connection without answering
};

// One request the fake server received, and what it answered.
struct RecordedRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  int replied_status = 0;
  Clock::time_point received_at;

  std::optional<std::string> Header(std::string_view name) const { return FindHeader(headers, name); }
};

// A fake HTTP/1.1 destination on 127.0.0.1:0. Answers from the script in order (e.g. 503, 503),
// then with the default reply. Records every request. Keep-alive; one thread per connection.
// Thread-safe. The destructor closes every connection and joins every thread.
class FakeHttpServer {
 public:
  FakeHttpServer();
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string Url(std::string_view path) const;

  // Appends replies used for the next requests, in order.
  void Script(std::vector<ScriptedReply> replies);
  // The reply used when the script is exhausted (200 "{}" unless set).
  void SetDefault(ScriptedReply reply);
  // Answers by calling "handler" once the script is exhausted (instead of the default reply):
  // for simulators of real systems that check signatures and keep state. Called with the
  // server's lock held, one request at a time.
  void SetHandler(std::function<ScriptedReply(const RecordedRequest&)> handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }

  std::vector<RecordedRequest> Requests() const;
  std::size_t RequestCount() const;

 private:
  void AcceptLoop();
  void Serve(int fd);
  ScriptedReply NextReply();

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::deque<ScriptedReply> script_;  // guarded by mu_
  ScriptedReply default_;             // guarded by mu_
  std::function<ScriptedReply(const RecordedRequest&)> handler_;  // guarded by mu_
  std::vector<RecordedRequest> requests_;  // guarded by mu_
  std::vector<std::thread> workers_;       // guarded by mu_
};

// ---------------------------------------------------------------------------------------------
// The hub's answers and its output

// The hub's answer to a webhook POST, decoded.
struct Ack {
  int status = 0;         // HTTP status; 0 when the exchange itself failed
  std::string transport;  // why the exchange failed, when status is 0
  std::string body;
  std::string event_id;   // "event_id" of the JSON answer, "" when absent
  std::optional<bool> duplicate;
  std::string error;      // "error" of a JSON error answer

  std::string ToString() const;
};

Ack ToAck(const Result<HttpResponse>& response);

// POST /webhooks/<source> on a fresh connection, or on "conn" (keep-alive).
Ack PostWebhook(uint16_t port, std::string_view source, std::string body, Headers headers = {},
                std::string content_type = "application/json");
Ack PostWebhook(HttpConnection& conn, std::string_view source, std::string body, Headers headers = {},
                std::string content_type = "application/json");

// One CloudEvent as written by a destination (a JSONL line or an HTTP body).
struct CloudEvent {
  std::string raw;
  bool valid = false;  // raw is a JSON object
  std::shared_ptr<rapidjson::Document> doc;
  std::string id;
  std::string type;
  std::string subject;
  std::string source;

  // The string at JSON Pointer "pointer", e.g. "/data/source/id".
  std::optional<std::string> Str(const char* pointer) const;
};

CloudEvent ParseCloudEvent(std::string raw);
// Every complete line of a JSONL file.
std::vector<CloudEvent> ReadCloudEvents(const std::string& path);

// The inbound event id a CloudEvent id belongs to: the part before the last ':'
// ("evt-1:0" -> "evt-1"). The whole id when there is no ':'.
std::string InboundIdOf(const std::string& cloud_event_id);

// ---------------------------------------------------------------------------------------------
// Processes

// How a child process ended.
struct ExitStatus {
  bool exited = false;     // exited normally; "code" is valid
  int code = -1;
  int signal = 0;          // killed by this signal
  bool timed_out = false;  // did not end in time (it was then killed with SIGKILL)

  bool Succeeded() const { return exited && code == 0; }
  std::string ToString() const;
};

struct RunResult {
  ExitStatus status;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs CHUB_BINARY with "args" to completion (SIGKILL after "timeout"), capturing stdout and
// stderr into files under "scratch_dir".
RunResult RunChannelhub(const std::vector<std::string>& args, const std::string& scratch_dir,
                        Millis timeout = Millis(30000));

// One `channelhub serve` child. Output (stdout and stderr) goes to "log_path". The destructor
// kills the child with SIGKILL if it still runs.
class HubProcess {
 public:
  HubProcess(std::string log_path, std::string ready_path);
  ~HubProcess();
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  // Spawns `channelhub serve --config <config> --ready-file <ready> <extra_args...>`.
  Status Spawn(const std::string& config_path, const std::vector<std::string>& extra_args);
  // Waits for the ready file ("HOST:PORT\n"); fails early when the child exits. The message of
  // a failure carries the log.
  Status WaitReady(Millis timeout = kReadyTimeout);

  // Sends "sig" (SIGTERM by default), then waits up to "timeout"; SIGKILL after that (timed_out
  // is then set).
  ExitStatus Terminate(Millis timeout = kStopTimeout, int sig = SIGTERM);
  // SIGKILL and reap.
  ExitStatus Kill();
  // Waits (bounded) for the child to exit by itself; SIGKILL after "timeout".
  ExitStatus WaitExit(Millis timeout);
  bool running();

  pid_t pid() const { return pid_; }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const { return ReadFile(log_path_); }

 private:
  ExitStatus Reap(Millis timeout);

  std::string log_path_;
  std::string ready_path_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> exit_;
  std::string host_;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Fixture

// A test with its own temporary directory and hub processes. Hubs still running at the end are
// killed; on failure their logs are printed.
class HubTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // Writes "yaml" to <tmp>/<name> after replacing every "@DIR@" with the temporary directory.
  // Returns the path.
  std::string WriteConfig(std::string yaml, std::string_view name = "hub.yaml");

  // Starts `channelhub serve --config <config_path> --listen 127.0.0.1:0 <extra>` and waits
  // until it is ready. Use with ASSERT_NO_FATAL_FAILURE. The hub is then hub().
  void StartHub(const std::string& config_path, std::vector<std::string> extra_args = {});

  // The hub started last. REQUIRES: StartHub() succeeded.
  HubProcess& hub() { return *hubs_.back(); }
  uint16_t port() { return hub().port(); }

  // Prints the logs of every hub started by this test.
  void PrintLogs();

  TempDir tmp_;
  std::vector<std::unique_ptr<HubProcess>> hubs_;
};

}  // namespace channelhub::e2e
