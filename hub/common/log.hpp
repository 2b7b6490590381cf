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

}  // namespace channelhub
