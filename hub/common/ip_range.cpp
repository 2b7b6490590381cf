#include "hub/common/ip_range.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace channelhub {
namespace {

// Parses an address; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4.
bool ParseAddress(std::string_view text, bool* v6, std::array<uint8_t, 16>* bytes) {
  std::string s(text);
  bytes->fill(0);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    *v6 = false;
    std::memcpy(bytes->data(), &a4, 4);
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a6.s6_addr, kMapped, 12) == 0) {
      *v6 = false;
      std::memcpy(bytes->data(), a6.s6_addr + 12, 4);
    } else {
      *v6 = true;
      std::memcpy(bytes->data(), a6.s6_addr, 16);
    }
    return true;
  }
  return false;
}

}  // namespace

Result<IpRange> IpRange::Parse(std::string_view text) {
  IpRange r;
  r.text_ = std::string(text);
  const std::size_t slash = text.find('/');
  if (!ParseAddress(text.substr(0, slash), &r.v6_, &r.bytes_)) {
    return Status::Invalid("expected an IP address or ADDRESS/PREFIX like 10.0.0.0/8, got \"" + r.text_ + "\"");
  }
  const int max = r.v6_ ? 128 : 32;
  r.prefix_ = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    int n = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (ec != std::errc() || end != p.data() + p.size() || n < 0 || n > max) {
      return Status::Invalid("the prefix of \"" + r.text_ + "\" must be 0.." + std::to_string(max));
    }
    r.prefix_ = n;
  }
  return r;
}

bool IpRange::Contains(std::string_view address) const {
  bool v6 = false;
  std::array<uint8_t, 16> b{};
  if (!ParseAddress(address, &v6, &b) || v6 != v6_) return false;
  int bits = prefix_;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((b[i] & mask) != (bytes_[i] & mask)) return false;
  }
  return true;
}

}  // namespace channelhub
