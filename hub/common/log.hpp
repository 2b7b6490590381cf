// Logging set-up: text or JSON lines on stderr, with personal data masked in every message
// (PIPL: logs are read by more people, and kept longer, than the data itself).
//
//   SetUpLogging("info", LogFormat::kJson);
//   spdlog::warn("order {} for {}", id, mobile);   // ... "for 138****8000"
#pragma once

#include <string>
#include <string_view>

namespace channelhub {

enum class LogFormat { kText, kJson };

// Installs the "channelhub" logger as the default, at "level" (trace, debug, info, warn, error).
void SetUpLogging(const std::string& level, LogFormat format);

// Masks what looks like personal data in "text": Chinese mobile numbers (13800138000,
// +8613800138000, 138-0013-8000 -> 138****8000 / +86138****8000), other E.164 numbers (all but
// the country code and the last 4 digits), e-mail addresses (l***@example.com). Everything else is
// kept as it is.
std::string MaskPii(std::string_view text);

// The trace id of an inbound event: 32 lower-case hex digits (the shape of a W3C trace-id),
// derived from its source and event id, so that every stage (webhook or poll, mapping, matching,
// delivery) names the same trace without storing it. The admin API's event trace shows it too.
std::string TraceIdFor(std::string_view source, std::string_view event_id);

// The inbound event id a canonical event id ("<event id>:<n>") comes from.
std::string_view InboundEventId(std::string_view cloud_event_id);

// While alive, every log record made on this thread carries the event and its trace: JSON lines
// get "event_id" and "trace_id" fields, text lines end with "[event <id> trace <id>]". Nests: the
// previous context comes back on destruction.
class LogContext {
 public:
  LogContext(std::string_view event_id, std::string_view trace_id);
  // The context of an event of "source": its trace id is TraceIdFor(source, inbound id),
  // worked out only if a record is actually written (setting a context costs no hash).
  static LogContext ForEvent(std::string_view source, std::string_view event_id);
  ~LogContext();
  LogContext(const LogContext&) = delete;
  LogContext& operator=(const LogContext&) = delete;

 private:
  // "source" given: the trace id is derived from it when first needed.
  LogContext(std::string_view event_id, std::string_view trace_id, const std::string_view* source);
  std::string prev_event_;
  std::string prev_trace_;
  std::string prev_source_;
  bool prev_derive_ = false;
};

}  // namespace channelhub
