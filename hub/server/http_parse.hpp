// Reading HTTP/1.1 requests: the Beast parser configuration with the server's limits, the
// conversion of a parsed request into an HttpRequest, and the answer to a request that cannot be
// read. HttpServer reads its sockets with exactly these; ParseRequests runs them on bytes in
// memory, for the fuzz target (tests/fuzz/fuzz_http_request.cpp) and the unit tests.
// Part of hub/server: the handlers keep to http_types.hpp and never include Beast.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/server/http_types.hpp"

namespace channelhub::server {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The limits of one request (ServerOptions::body_limit, header_limit and max_headers).
struct ParseLimits {
  std::size_t body_limit = 1 << 20;
  std::size_t header_limit = 16 * 1024;  // bytes of the start line and the headers
  std::size_t max_headers = 100;         // header fields
};

// Applies "limits" to a new parser; one parser reads one request.
void ConfigureParser(RequestParser& parser, const ParseLimits& limits);

// True when the client waits for "100 Continue" before it sends the body.
// REQUIRES: the header has been read.
bool ExpectsContinue(const RequestParser& parser);

// The server's answer to a request it could not read because of "ec".
struct ReadErrorAnswer {
  int status = 400;
  std::string code;  // "bad_request", "body_too_large", "headers_too_large", "length_required"
  std::string message;
};
// nullopt: no answer, the connection is just closed (the peer closed or reset it, stopped in the
// middle of a message, timed out, or the server is stopping).
std::optional<ReadErrorAnswer> AnswerForReadError(const boost::system::error_code& ec, const ParseLimits& limits);

// The server's answer to a request whose header was read but that is refused before its body:
// more header fields than limits.max_headers (431), or a POST, PUT or PATCH with neither
// Content-Length nor chunked encoding (411: its body could not be told apart from the next
// request). nullopt: read the body. REQUIRES: the header has been read.
std::optional<ReadErrorAnswer> AnswerForHeader(const RequestParser& parser, const ParseLimits& limits);

// The handlers' view of a parsed request; "remote" is the peer ("ip:port").
HttpRequest ToRequest(BeastRequest&& req, const std::string& remote);

// What one connection's bytes amount to, read the way HttpServer reads a socket: request after
// request (keep-alive, pipelining) until the bytes end, a request does not keep the connection
// alive, or one cannot be read.
struct ParsedConnection {
  std::vector<HttpRequest> requests;       // the requests the handler would get, in order
  std::vector<bool> keep_alive;            // per request: the connection stays open after it
  int continues = 0;                       // "100 Continue" interim answers the server would send
  std::optional<ReadErrorAnswer> error;    // the answer to a request that could not be read
  bool incomplete = false;                 // the bytes ended within a request (no answer: closed)
};

// Reads "bytes" as one connection delivers them, at most "chunk" bytes per read (0: all that is
// left), so that a caller can split a request anywhere. Never throws for any input.
ParsedConnection ParseRequests(std::string_view bytes, const ParseLimits& limits, std::size_t chunk = 0,
                               const std::string& remote = "127.0.0.1:0");

}  // namespace channelhub::server
