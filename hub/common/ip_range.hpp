// IP address ranges for allow-lists: "203.0.113.7", "10.0.0.0/8", "2001:db8::/32".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/common/status.hpp"

namespace channelhub {

class IpRange {
 public:
  // InvalidArgument saying what is wrong ("expected an IP address or ADDRESS/PREFIX").
  static Result<IpRange> Parse(std::string_view text);

  // True when "address" (an IPv4 or IPv6 address as text; IPv4-mapped IPv6 counts as IPv4)
  // lies in the range. False for anything that is not an address.
  bool Contains(std::string_view address) const;

  const std::string& text() const { return text_; }

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};
  int prefix_ = 0;
  std::string text_;
};

}  // namespace channelhub
