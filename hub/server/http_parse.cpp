#include "hub/server/http_parse.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/system/system_error.hpp>
#include <cstdint>

namespace channelhub::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

void ConfigureParser(RequestParser& parser, const ParseLimits& limits) {
  parser.body_limit(limits.body_limit);
  parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
}

bool ExpectsContinue(const RequestParser& parser) {
  return beast::iequals(parser.get()[http::field::expect], "100-continue");
}

std::optional<ReadErrorAnswer> AnswerForReadError(const boost::system::error_code& ec, const ParseLimits& limits) {
  if (ec == http::error::body_limit) {
    return ReadErrorAnswer{413, "body_too_large",
                           "request body exceeds the limit of " + std::to_string(limits.body_limit) + " bytes"};
  }
  if (ec == http::error::header_limit) {
    return ReadErrorAnswer{431, "headers_too_large", "request headers are too large"};
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::error::eof || ec == http::error::partial_message) {
    return std::nullopt;
  }
  return ReadErrorAnswer{400, "bad_request", std::string("malformed HTTP request: ") + ec.message()};
}

std::optional<ReadErrorAnswer> AnswerForHeader(const RequestParser& parser, const ParseLimits& limits) {
  const auto& head = parser.get();
  std::size_t fields = 0;
  for (auto it = head.begin(); it != head.end(); ++it) ++fields;
  if (fields > limits.max_headers) {
    return ReadErrorAnswer{431, "headers_too_large",
                           "the request has " + std::to_string(fields) + " header fields; at most " +
                               std::to_string(limits.max_headers) + " are accepted"};
  }
  const auto method = head.method();
  if ((method == http::verb::post || method == http::verb::put || method == http::verb::patch) &&
      !parser.content_length() && !parser.chunked()) {
    // Without a length the body cannot be told apart from the next request.
    return ReadErrorAnswer{411, "length_required",
                           "a request with a body needs Content-Length or Transfer-Encoding: chunked"};
  }
  return std::nullopt;
}

HttpRequest ToRequest(BeastRequest&& req, const std::string& remote) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto q = out.target.find('?');
  out.path = out.target.substr(0, q);
  if (q != std::string::npos) out.query = out.target.substr(q + 1);
  for (const auto& f : req) {
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  out.body = std::move(req.body());
  out.remote = remote;
  return out;
}

namespace {

// A SyncReadStream over bytes in memory that hands out at most "chunk" bytes per read, then eof.
class MemoryStream {
 public:
  MemoryStream(std::string_view bytes, std::size_t chunk) : rest_(bytes), chunk_(chunk) {}

  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (rest_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    const std::size_t n = chunk_ == 0 ? rest_.size() : std::min(chunk_, rest_.size());
    const std::size_t copied = asio::buffer_copy(buffers, asio::buffer(rest_.data(), n));
    rest_.remove_prefix(copied);
    ec = {};
    return copied;
  }

  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
  std::size_t chunk_;
};

}  // namespace

// The same steps as HttpServer's Serve loop, with synchronous reads of the same parser.
ParsedConnection ParseRequests(std::string_view bytes, const ParseLimits& limits, std::size_t chunk,
                               const std::string& remote) {
  ParsedConnection out;
  MemoryStream stream(bytes, chunk);
  beast::flat_buffer buffer;
  for (;;) {
    RequestParser parser;
    ConfigureParser(parser, limits);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (!ec) {
      if (auto answer = AnswerForHeader(parser, limits)) {
        out.error = std::move(answer);
        break;
      }
      if (!parser.is_done() && ExpectsContinue(parser)) ++out.continues;
      if (!parser.is_done()) http::read(stream, buffer, parser, ec);
      // A chunked body's trailer adds fields: they count toward max_headers too.
      if (!ec && parser.chunked()) {
        if (auto answer = AnswerForHeader(parser, limits)) {
          out.error = std::move(answer);
          break;
        }
      }
    }
    if (ec) {
      out.error = AnswerForReadError(ec, limits);
      out.incomplete = ec == http::error::partial_message;
      break;
    }
    BeastRequest req = parser.release();
    const bool keep_alive = req.keep_alive();
    out.requests.push_back(ToRequest(std::move(req), remote));
    out.keep_alive.push_back(keep_alive);
    if (!keep_alive) break;
  }
  return out;
}

}  // namespace channelhub::server
