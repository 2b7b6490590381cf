// Lock-free counters and histograms for the Prometheus text format (GET /metrics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace channelhub::metrics {

// A latency histogram with fixed bucket bounds (seconds): 0.5 ms to 10 s. Observe() is
// wait-free and may run on any thread.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1,     2.5,  5,    10};
  void Observe(double seconds);
  // The _bucket, _sum and _count lines, each with "labels" (`source="shop"` or ""), without
  // the HELP and TYPE lines.
  std::string Render(const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // the last one: +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// "# HELP name help\n# TYPE name type\n".
std::string Header(const std::string& name, const std::string& help, const std::string& type);

// A label value escaped for the text format (backslash, double quote, newline).
std::string Escape(const std::string& value);

}  // namespace channelhub::metrics
