// Small helpers shared by the ERP connectors (SAP IDoc, Kingdee): trimming, JSON string quoting,
// body snippets for error messages and the HTTP status rules both families apply.
#pragma once

#include <channelhub/plugin.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace channelhub::connectors::erp {

std::string_view Trim(std::string_view s);

// "s" as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

// At most "max" bytes of "body" (cut on a UTF-8 character boundary), control characters as
// spaces, for error messages.
std::string Snippet(std::string_view body, std::size_t max = 200);

// The Retry-After header as milliseconds (delta-seconds only); 0 when absent or not a number.
int64_t RetryAfterMs(const sdk::Response& response);

// 408, 429 and every 5xx: the system is busy or broken for now.
bool IsTransientStatus(int status);

// True when "haystack" contains "needle", ASCII letters compared case-insensitively.
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

// The path and query of an absolute http(s) URL ("http://h:8000/a/b?x=1" -> "/a/b?x=1"; "/" when
// it has no path). Throws sdk::Failure naming "setting" when "url" is not an http(s) URL.
std::string UrlTarget(std::string_view url, std::string_view setting = "url");

}  // namespace channelhub::connectors::erp
