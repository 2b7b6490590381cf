#include "tests/e2e/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include <rapidjson/pointer.h>

extern char** environ;

namespace channelhub::e2e {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left, 1 << 30));
}

// ---- reading HTTP messages from a socket --------------------------------------------------

enum class Read { kData, kEof, kTimeout, kError, kStopped };

// Receives more bytes into "buf". Waits at most until "deadline"; gives up early when "*stop"
// becomes true (checked every 50 ms).
Read Fill(int fd, std::string& buf, Clock::time_point deadline, const std::atomic<bool>* stop) {
  for (;;) {
    if (stop != nullptr && stop->load()) return Read::kStopped;
    int wait = RemainingMs(deadline);
    if (wait == 0) return Read::kTimeout;
    if (stop != nullptr) wait = std::min(wait, 50);
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Read::kError;
    }
    if (r == 0) continue;
    char chunk[64 * 1024];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
      return Read::kData;
    }
    if (n == 0) return Read::kEof;
    if (errno == EINTR || errno == EAGAIN) continue;
    return Read::kError;
  }
}

const char* ReadName(Read r) {
  switch (r) {
    case Read::kData: return "data";
    case Read::kEof: return "connection closed by peer";
    case Read::kTimeout: return "timed out";
    case Read::kError: return "socket error";
    case Read::kStopped: return "stopped";
  }
  return "?";
}

struct RawMessage {
  std::string start_line;
  Headers headers;
  std::string body;
};

// Reads one HTTP/1.1 message from fd; "buf" keeps what was received beyond it. For a response,
// "response_status_of" tells how to find the body: a response without Content-Length and
// without chunked encoding is read until the peer closes.
Status ReadMessage(int fd, std::string& buf, Clock::time_point deadline, bool is_response,
                   const std::atomic<bool>* stop, RawMessage* out) {
  auto fail = [](Read r, const char* while_doing) {
    StatusCode code = r == Read::kTimeout ? StatusCode::kUnavailable : StatusCode::kIoError;
    return Status(code, std::string(while_doing) + ": " + ReadName(r));
  };
  std::size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    Read r = Fill(fd, buf, deadline, stop);
    if (r != Read::kData) return fail(r, buf.empty() ? "waiting for a message" : "reading the head");
  }
  std::string head = buf.substr(0, head_end);
  buf.erase(0, head_end + 4);

  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  out->start_line = Trim(line);
  out->headers.clear();
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out->headers.emplace_back(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }

  out->body.clear();
  auto te = FindHeader(out->headers, "Transfer-Encoding");
  auto cl = FindHeader(out->headers, "Content-Length");
  if (te && Lower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos) {
        Read r = Fill(fd, buf, deadline, stop);
        if (r != Read::kData) return fail(r, "reading a chunk size");
      }
      std::size_t size = std::strtoul(buf.substr(0, eol).c_str(), nullptr, 16);
      buf.erase(0, eol + 2);
      if (size == 0) {
        // Trailers, then an empty line.
        for (;;) {
          while ((eol = buf.find("\r\n")) == std::string::npos) {
            Read r = Fill(fd, buf, deadline, stop);
            if (r != Read::kData) return fail(r, "reading trailers");
          }
          bool empty = eol == 0;
          buf.erase(0, eol + 2);
          if (empty) return Status::Ok();
        }
      }
      while (buf.size() < size + 2) {
        Read r = Fill(fd, buf, deadline, stop);
        if (r != Read::kData) return fail(r, "reading a chunk");
      }
      out->body.append(buf, 0, size);
      buf.erase(0, size + 2);
    }
  }
  if (cl) {
    std::size_t length = std::strtoull(cl->c_str(), nullptr, 10);
    while (buf.size() < length) {
      Read r = Fill(fd, buf, deadline, stop);
      if (r != Read::kData) return fail(r, "reading the body");
    }
    out->body = buf.substr(0, length);
    buf.erase(0, length);
    return Status::Ok();
  }
  if (!is_response) return Status::Ok();
  // A response: 1xx, 204 and 304 have no body; others without a length end at close.
  int status = 0;
  std::sscanf(out->start_line.c_str(), "HTTP/%*d.%*d %d", &status);
  if ((status >= 100 && status < 200) || status == 204 || status == 304) return Status::Ok();
  for (;;) {
    Read r = Fill(fd, buf, deadline, stop);
    if (r == Read::kEof) break;
    if (r != Read::kData) return fail(r, "reading a body until close");
  }
  out->body = std::move(buf);
  buf.clear();
  return Status::Ok();
}

// Sends all of "data". Stops early (returning OK with *peer_spoke set) when the peer has
// something to say before we finish, e.g. a 413 before the body is read.
Status SendAll(int fd, std::string_view data, Clock::time_point deadline, bool* peer_spoke) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    pollfd p{fd, POLLOUT | POLLIN, 0};
    int wait = RemainingMs(deadline);
    if (wait == 0) return Status::Unavailable("send timed out");
    int r = ::poll(&p, 1, wait);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("poll: ") + std::strerror(errno));
    }
    if (r == 0) continue;
    if ((p.revents & POLLIN) != 0) {
      *peer_spoke = true;
      return Status::Ok();
    }
    if ((p.revents & (POLLERR | POLLHUP)) != 0 && (p.revents & POLLOUT) == 0) {
      return Status::IoError("connection reset while sending");
    }
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::IoError(std::string("send: ") + std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

int ConnectLoopback(uint16_t port, Millis timeout, std::string* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  // Bounds connect() itself (Linux uses the send timeout for it).
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string Base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::string HmacRaw(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

}  // namespace

// ---- waiting and files ------------------------------------------------------------------------

bool WaitFor(const std::function<bool()>& done, Millis timeout, Millis poll) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WriteFile(const std::string& path, std::string_view contents) {
  std::error_code ec;
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return false;
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  return static_cast<bool>(out.flush());
}

std::vector<std::string> ReadCompleteLines(const std::string& path) {
  std::string all = ReadFile(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(all.substr(start, nl - start));
  }
  return lines;
}

bool WaitForLines(const std::string& path, std::size_t n, Millis timeout) {
  return WaitFor([&] { return ReadCompleteLines(path).size() >= n; }, timeout);
}

TempDir::TempDir() {
  char templ[] = "/tmp/chub-e2e-XXXXXX";
  if (::mkdtemp(templ) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Join(std::string_view relative) const {
  return path_ + "/" + std::string(relative);
}

// ---- JSON and crypto ---------------------------------------------------------------------------

rapidjson::Document ParseJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return doc;
}

std::optional<std::string> JsonString(const rapidjson::Value& root, const char* pointer) {
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(root);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

bool JsonHas(const rapidjson::Value& root, const char* pointer) {
  return rapidjson::Pointer(pointer).Get(root) != nullptr;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  static const char kDigits[] = "0123456789abcdef";
  std::string raw = HmacRaw(key, message);
  std::string hex;
  for (unsigned char c : raw) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 0xF];
  }
  return hex;
}

std::string HmacSha256Base64(std::string_view key, std::string_view message) {
  std::string raw = HmacRaw(key, message);
  return Base64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

// ---- HTTP client -------------------------------------------------------------------------------

std::optional<std::string> FindHeader(const Headers& headers, std::string_view name) {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return v;
  }
  return std::nullopt;
}

HttpConnection::HttpConnection(uint16_t port, Millis timeout) : port_(port), timeout_(timeout) {}

HttpConnection::~HttpConnection() { Close(); }

Status HttpConnection::Connect() {
  if (fd_ >= 0) return Status::Ok();
  std::string error;
  fd_ = ConnectLoopback(port_, timeout_, &error);
  if (fd_ < 0) return Status::IoError(error);
  ++connects_;
  buffer_.clear();
  return Status::Ok();
}

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Result<HttpResponse> HttpConnection::RoundTrip(const HttpRequest& request) {
  CHUB_RETURN_IF_ERROR(Connect());
  const auto deadline = Clock::now() + timeout_;

  std::string wire = request.method + " " + request.target + " HTTP/1.1\r\n";
  if (!FindHeader(request.headers, "Host")) wire += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  for (const auto& [k, v] : request.headers) wire += k + ": " + v + "\r\n";
  if (!FindHeader(request.headers, "Content-Length") && !FindHeader(request.headers, "Transfer-Encoding") &&
      (!request.body.empty() || request.method == "POST" || request.method == "PUT")) {
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  wire += "\r\n";
  wire += request.body;

  bool peer_spoke = false;
  Status sent = SendAll(fd_, wire, deadline, &peer_spoke);
  // On a send error the server may still have answered (413 and close): try to read it.
  RawMessage msg;
  Status read = ReadMessage(fd_, buffer_, deadline, /*is_response=*/true, nullptr, &msg);
  if (!read.ok()) {
    Close();
    if (!sent.ok()) return sent.Prepend("sending the request: ");
    return read.Prepend(request.method + " " + request.target + ": ");
  }

  HttpResponse response;
  char reason[256] = {0};
  if (std::sscanf(msg.start_line.c_str(), "HTTP/%*d.%*d %d %255[^\r\n]", &response.status, reason) < 1) {
    Close();
    return Status::IoError("not an HTTP response: '" + msg.start_line + "'");
  }
  response.reason = reason;
  response.headers = std::move(msg.headers);
  response.body = std::move(msg.body);

  auto connection = response.Header("Connection");
  bool close = (connection && Lower(*connection).find("close") != std::string::npos) || !sent.ok() ||
               peer_spoke || msg.start_line.rfind("HTTP/1.0", 0) == 0;
  if (close) Close();
  return response;
}

Result<HttpResponse> HttpCall(uint16_t port, const HttpRequest& request, Millis timeout) {
  HttpConnection c(port, timeout);
  return c.RoundTrip(request);
}

Result<HttpResponse> HttpGet(uint16_t port, std::string target) {
  HttpRequest r;
  r.method = "GET";
  r.target = std::move(target);
  return HttpCall(port, r);
}

Result<HttpResponse> HttpPost(uint16_t port, std::string target, std::string body, Headers headers,
                              std::string content_type) {
  HttpRequest r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = std::move(headers);
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::move(content_type));
  return HttpCall(port, r);
}

bool IsListening(uint16_t port) {
  std::string error;
  int fd = ConnectLoopback(port, Millis(2000), &error);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

uint16_t PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// ---- fake HTTP server --------------------------------------------------------------------------

FakeHttpServer::FakeHttpServer() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();  // each notices stop_ within 50 ms and closes its socket
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string FakeHttpServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void FakeHttpServer::Script(std::vector<ScriptedReply> replies) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : replies) script_.push_back(std::move(r));
}

void FakeHttpServer::SetDefault(ScriptedReply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  default_ = std::move(reply);
}

std::vector<RecordedRequest> FakeHttpServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::size_t FakeHttpServer::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

void FakeHttpServer::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 50);
    if (r <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

ScriptedReply FakeHttpServer::NextReply() {
  if (script_.empty()) return default_;
  ScriptedReply r = std::move(script_.front());
  script_.pop_front();
  return r;
}

void FakeHttpServer::Serve(int fd) {
  std::string buf;
  const auto forever = Clock::now() + std::chrono::hours(24);
  while (!stop_) {
    RawMessage msg;
    if (!ReadMessage(fd, buf, forever, /*is_response=*/false, &stop_, &msg).ok()) break;

    RecordedRequest rec;
    std::istringstream start(msg.start_line);
    start >> rec.method >> rec.target;
    rec.headers = std::move(msg.headers);
    rec.body = std::move(msg.body);
    rec.received_at = Clock::now();
    ScriptedReply reply;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reply = script_.empty() && handler_ ? handler_(rec) : NextReply();
      rec.replied_status = reply.hang_up ? 0 : reply.status;  // 0: no answer
      requests_.push_back(rec);
    }
    // A slow destination: wait, but never past the server's destruction.
    const auto until = Clock::now() + reply.delay;
    while (!stop_ && Clock::now() < until) std::this_thread::sleep_for(Millis(5));
    if (stop_ || reply.hang_up) break;

    std::string wire = "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n";
    wire += "Content-Type: application/json\r\n";
    for (const auto& [k, v] : reply.headers) wire += k + ": " + v + "\r\n";
    wire += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
    wire += reply.body;
    bool peer_spoke = false;
    if (!SendAll(fd, wire, Clock::now() + kIoTimeout, &peer_spoke).ok()) break;
    auto connection = rec.Header("Connection");
    if (connection && Lower(*connection).find("close") != std::string::npos) break;
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

// ---- the hub's answers and output ---------------------------------------------------------------

std::string Ack::ToString() const {
  if (status == 0) return "no answer: " + transport;
  return std::to_string(status) + " " + body;
}

Ack ToAck(const Result<HttpResponse>& response) {
  Ack ack;
  if (!response.ok()) {
    ack.transport = response.status().ToString();
    return ack;
  }
  ack.status = response->status;
  ack.body = response->body;
  rapidjson::Document doc = response->Json();
  if (!doc.HasParseError() && doc.IsObject()) {
    ack.event_id = JsonString(doc, "/event_id").value_or("");
    ack.error = JsonString(doc, "/error").value_or("");
    const rapidjson::Value* dup = rapidjson::Pointer("/duplicate").Get(doc);
    if (dup != nullptr && dup->IsBool()) ack.duplicate = dup->GetBool();
  }
  return ack;
}

namespace {
HttpRequest WebhookRequest(std::string_view source, std::string body, Headers headers, std::string content_type) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/webhooks/" + std::string(source);
  r.body = std::move(body);
  r.headers = std::move(headers);
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}
}  // namespace

Ack PostWebhook(uint16_t port, std::string_view source, std::string body, Headers headers,
                std::string content_type) {
  return ToAck(HttpCall(port, WebhookRequest(source, std::move(body), std::move(headers), std::move(content_type))));
}

Ack PostWebhook(HttpConnection& conn, std::string_view source, std::string body, Headers headers,
                std::string content_type) {
  return ToAck(conn.RoundTrip(WebhookRequest(source, std::move(body), std::move(headers), std::move(content_type))));
}

std::optional<std::string> CloudEvent::Str(const char* pointer) const {
  if (!valid) return std::nullopt;
  return JsonString(*doc, pointer);
}

CloudEvent ParseCloudEvent(std::string raw) {
  CloudEvent ce;
  ce.raw = std::move(raw);
  ce.doc = std::make_shared<rapidjson::Document>(ParseJson(ce.raw));
  ce.valid = !ce.doc->HasParseError() && ce.doc->IsObject();
  if (ce.valid) {
    ce.id = JsonString(*ce.doc, "/id").value_or("");
    ce.type = JsonString(*ce.doc, "/type").value_or("");
    ce.subject = JsonString(*ce.doc, "/subject").value_or("");
    ce.source = JsonString(*ce.doc, "/source").value_or("");
  }
  return ce;
}

std::vector<CloudEvent> ReadCloudEvents(const std::string& path) {
  std::vector<CloudEvent> out;
  for (auto& line : ReadCompleteLines(path)) out.push_back(ParseCloudEvent(std::move(line)));
  return out;
}

std::string InboundIdOf(const std::string& cloud_event_id) {
  auto colon = cloud_event_id.rfind(':');
  return colon == std::string::npos ? cloud_event_id : cloud_event_id.substr(0, colon);
}

// ---- processes ---------------------------------------------------------------------------------

std::string ExitStatus::ToString() const {
  std::string s;
  if (exited) s = "exit code " + std::to_string(code);
  else if (signal != 0) s = std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  else s = "not exited";
  if (timed_out) s += " after a timeout";
  return s;
}

namespace {

ExitStatus FromWaitStatus(int ws) {
  ExitStatus e;
  if (WIFEXITED(ws)) {
    e.exited = true;
    e.code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    e.signal = WTERMSIG(ws);
  }
  return e;
}

// Spawns CHUB_BINARY with "args"; fd 0 is /dev/null, fds 1 and 2 go to the given files (the
// same file when both paths are equal). Returns the pid or -1 with *error set.
pid_t SpawnChannelhub(const std::vector<std::string>& args, const std::string& out_path,
                      const std::string& err_path, std::string* error) {
  if (::access(CHUB_BINARY, X_OK) != 0) {
    *error = std::string("the channelhub binary is not built: ") + CHUB_BINARY;
    return -1;
  }
  std::vector<std::string> storage;
  storage.emplace_back(CHUB_BINARY);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (err_path == out_path) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  // The child starts with default dispositions and an empty mask whatever the test runner did.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, CHUB_BINARY, &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = std::string("posix_spawn ") + CHUB_BINARY + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

// Waits up to "timeout" for "pid"; SIGKILLs it after that. Always reaps it.
ExitStatus ReapWithin(pid_t pid, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int ws = 0;
    pid_t r = ::waitpid(pid, &ws, WNOHANG);
    if (r == pid) return FromWaitStatus(ws);
    if (r < 0 && errno != EINTR) return ExitStatus{};
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(Millis(20));
  }
  ::kill(pid, SIGKILL);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  ExitStatus e = FromWaitStatus(ws);
  e.timed_out = true;
  return e;
}

}  // namespace

RunResult RunChannelhub(const std::vector<std::string>& args, const std::string& scratch_dir, Millis timeout) {
  static std::atomic<int> counter{0};
  const std::string stem = scratch_dir + "/run-" + std::to_string(counter++);
  const std::string out_path = stem + ".out";
  const std::string err_path = stem + ".err";
  RunResult result;
  std::string error;
  pid_t pid = SpawnChannelhub(args, out_path, err_path, &error);
  if (pid < 0) {
    result.err = error;
    return result;
  }
  result.status = ReapWithin(pid, timeout);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

HubProcess::HubProcess(std::string log_path, std::string ready_path)
    : log_path_(std::move(log_path)), ready_path_(std::move(ready_path)) {}

HubProcess::~HubProcess() {
  if (pid_ > 0 && !exit_) Kill();
}

Status HubProcess::Spawn(const std::string& config_path, const std::vector<std::string>& extra_args) {
  if (pid_ > 0) return Status::Internal("HubProcess::Spawn called twice");
  ::unlink(ready_path_.c_str());  // never mistake a previous run's file for readiness
  std::vector<std::string> args = {"serve", "--config", config_path, "--ready-file", ready_path_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::string error;
  pid_ = SpawnChannelhub(args, log_path_, log_path_, &error);
  if (pid_ < 0) return Status::Internal(error);
  return Status::Ok();
}

Status HubProcess::WaitReady(Millis timeout) {
  if (pid_ <= 0) return Status::Internal("the hub was not spawned");
  std::string contents;
  bool exited_early = false;
  bool ready = WaitFor(
      [&] {
        contents = ReadFile(ready_path_);
        if (!contents.empty() && contents.back() == '\n') return true;
        if (!running()) {
          exited_early = true;
          return true;
        }
        return false;
      },
      timeout);
  if (exited_early) {
    return Status::Unavailable("channelhub serve exited before it was ready (" + exit_->ToString() +
                               "); log:\n" + Log());
  }
  if (!ready) {
    ExitStatus e = Kill();
    return Status::Unavailable("channelhub serve was not ready after " + std::to_string(timeout.count()) +
                               " ms (killed: " + e.ToString() + "); log:\n" + Log());
  }
  std::string line = contents.substr(0, contents.size() - 1);
  auto colon = line.rfind(':');
  if (colon == std::string::npos) {
    return Status::Internal("ready file does not say HOST:PORT: '" + line + "'");
  }
  host_ = line.substr(0, colon);
  long port = std::strtol(line.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) return Status::Internal("ready file has a bad port: '" + line + "'");
  port_ = static_cast<uint16_t>(port);
  return Status::Ok();
}

bool HubProcess::running() {
  if (pid_ <= 0 || exit_) return false;
  int ws = 0;
  pid_t r = ::waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) {
    exit_ = FromWaitStatus(ws);
    return false;
  }
  return r == 0;
}

ExitStatus HubProcess::Reap(Millis timeout) {
  if (exit_) return *exit_;
  if (pid_ <= 0) return ExitStatus{};
  exit_ = ReapWithin(pid_, timeout);
  return *exit_;
}

ExitStatus HubProcess::Terminate(Millis timeout, int sig) {
  if (!running()) return exit_.value_or(ExitStatus{});
  ::kill(pid_, sig);
  return Reap(timeout);
}

ExitStatus HubProcess::Kill() {
  if (!running()) return exit_.value_or(ExitStatus{});
  ::kill(pid_, SIGKILL);
  return Reap(kStopTimeout);
}

ExitStatus HubProcess::WaitExit(Millis timeout) {
  if (!running()) return exit_.value_or(ExitStatus{});
  return Reap(timeout);
}

// ---- fixture -----------------------------------------------------------------------------------

void HubTest::TearDown() {
  for (auto& h : hubs_) h->Kill();
  if (HasFailure()) PrintLogs();
  hubs_.clear();
}

void HubTest::PrintLogs() {
  for (std::size_t i = 0; i < hubs_.size(); ++i) {
    std::cerr << "----- channelhub log #" << i << " (" << hubs_[i]->log_path() << ") -----\n"
              << hubs_[i]->Log() << "----- end of log #" << i << " -----\n";
  }
}

std::string HubTest::WriteConfig(std::string yaml, std::string_view name) {
  for (std::size_t at; (at = yaml.find("@DIR@")) != std::string::npos;) {
    yaml.replace(at, 5, tmp_.path());
  }
  std::string path = tmp_.Join(name);
  EXPECT_TRUE(WriteFile(path, yaml)) << "cannot write " << path;
  return path;
}

void HubTest::StartHub(const std::string& config_path, std::vector<std::string> extra_args) {
  const std::size_t n = hubs_.size();
  auto hub = std::make_unique<HubProcess>(tmp_.Join("hub." + std::to_string(n) + ".log"),
                                          tmp_.Join("ready." + std::to_string(n)));
  extra_args.insert(extra_args.begin(), {"--listen", "127.0.0.1:0"});
  Status spawned = hub->Spawn(config_path, extra_args);
  hubs_.push_back(std::move(hub));
  ASSERT_TRUE(spawned.ok()) << spawned.ToString();
  Status ready = hubs_.back()->WaitReady();
  ASSERT_TRUE(ready.ok()) << ready.ToString();
  ASSERT_EQ(hubs_.back()->host(), "127.0.0.1");
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace channelhub::e2e
