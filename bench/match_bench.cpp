// Customer matching throughput (hub/master, issue 6 item 8, first figures): records arriving one
// by one are normalised, matched against the index (candidates by blocking key, every candidate
// scored) and added. Generated Chinese person and company records; about one in four is another
// system's copy of an earlier customer (reformatted phone, traditional characters, typo).
//
// Counters:
//   records_per_s   records processed per second of wall time
//   p50_us, p99_us  latency of one record (Normalize + Match + Add, or Match + Add)
//   bytes_per_rec   heap growth of the index (mallinfo2) divided by the records in it
//   cand_per_rec    candidates scored per record
//
//   build-master/bench/match_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hub/master/matcher.hpp"
#include "hub/master/normalize.hpp"

namespace {

using channelhub::master::Matcher;
using channelhub::master::NormalizedCustomer;
using channelhub::model::Customer;
using channelhub::model::CustomerKind;

const char* const kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                 "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
                                 "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹"};
const char* const kGiven[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
                              "杰", "娟", "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华",
                              "玉", "萍", "红", "鹏", "辉", "建", "国", "文", "斌", "宇", "浩", "凯",
                              "晨", "雪", "琳", "欣", "子", "梓", "轩", "睿", "思", "嘉", "佳", "一"};
const char* const kTraditional[][2] = {{"伟", "偉"}, {"丽", "麗"}, {"军", "軍"}, {"艳", "艷"},
                                       {"杰", "傑"}, {"涛", "濤"}, {"红", "紅"}, {"鹏", "鵬"},
                                       {"辉", "輝"}, {"国", "國"}, {"刘", "劉"}, {"陈", "陳"},
                                       {"杨", "楊"}, {"黄", "黃"}, {"赵", "趙"}, {"吴", "吳"}};
const char* const kCities[][3] = {{"广东省", "深圳市", "南山区"}, {"广东省", "广州市", "天河区"},
                                  {"北京市", "", "朝阳区"},       {"上海市", "", "浦东新区"},
                                  {"浙江省", "杭州市", "西湖区"}, {"江苏省", "苏州市", "工业园区"},
                                  {"四川省", "成都市", "武侯区"}, {"湖北省", "武汉市", "洪山区"}};
const char* const kRoads[] = {"科技园路", "建国路", "人民路", "中山路", "解放路", "世纪大道", "文三路", "长江路"};
const char* const kWords[] = {"华", "创", "信", "达", "恒", "泰", "新", "盛", "源", "通", "鑫", "宏", "远", "博"};
const char* const kTrades[] = {"科技", "贸易", "电子", "商贸", "物流", "食品", "机械", "医药"};

std::string Pick(std::mt19937_64& rng, const char* const* list, size_t n) { return list[rng() % n]; }
#define PICK(rng, arr) Pick(rng, arr, sizeof(arr) / sizeof(arr[0]))

std::string Mobile(uint64_t n) {
  std::string digits = std::to_string(13000000000ULL + n * 7919ULL % 6999999999ULL);
  return digits;
}

std::string Traditional(std::string s) {
  for (const auto& pair : kTraditional) {
    size_t at = 0;
    while ((at = s.find(pair[0], at)) != std::string::npos) s.replace(at, 3, pair[1]);
  }
  return s;
}

std::vector<Customer> Generate(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Customer> originals;
  std::vector<Customer> out;
  out.reserve(n);
  while (out.size() < n) {
    if (!originals.empty() && rng() % 4 == 0) {
      // Another system's copy of an earlier customer.
      Customer c = originals[rng() % originals.size()];
      c.source.system = "shop";
      if (!c.mobiles.empty()) {
        std::string m = c.mobiles[0];
        c.mobiles[0] = rng() % 2 ? "+86 " + m.substr(0, 3) + " " + m.substr(3, 4) + " " + m.substr(7)
                                 : "0086-" + m;
      }
      if (rng() % 3 == 0) c.name = Traditional(c.name);
      if (rng() % 2 == 0 && !c.addresses.empty()) {
        auto& a = c.addresses[0];
        a.line = a.province + a.city + a.district + a.line;
        a.province.clear();
        a.city.clear();
        a.district.clear();
      }
      c.source.id = "s" + std::to_string(out.size());
      out.push_back(std::move(c));
      continue;
    }
    Customer c;
    const uint64_t id = originals.size();
    if (rng() % 5 == 0) {
      c.kind = CustomerKind::kCompany;
      c.name = PICK(rng, kWords) + PICK(rng, kWords) + PICK(rng, kTrades) + "有限公司";
      std::string code = "9144030" + std::to_string(100000000 + id * 37 % 899999999);
      code.resize(17, '0');
      c.credit_code = code + *channelhub::master::CreditCodeCheckChar(code);
    } else {
      c.name = PICK(rng, kSurnames) + PICK(rng, kGiven) + (rng() % 2 ? PICK(rng, kGiven) : "");
    }
    c.mobiles.push_back(Mobile(id));
    if (rng() % 3 == 0) c.emails.push_back("user" + std::to_string(id) + "@example.cn");
    const auto& city = kCities[rng() % (sizeof(kCities) / sizeof(kCities[0]))];
    channelhub::model::Address a;
    a.province = city[0];
    a.city = city[1];
    a.district = city[2];
    a.line = PICK(rng, kRoads) + std::to_string(1 + rng() % 500) + "号";
    c.addresses.push_back(a);
    c.source = {"erp", "e" + std::to_string(id)};
    originals.push_back(c);
    out.push_back(std::move(c));
  }
  return out;
}

// Bytes in use on the heap: small chunks (uordblks) plus the large ones glibc maps directly
// (hblkhd), which a big vector or hash table array is.
size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void Percentiles(benchmark::State& state, std::vector<double>& latencies_us) {
  if (latencies_us.empty()) return;
  std::sort(latencies_us.begin(), latencies_us.end());
  state.counters["p50_us"] = latencies_us[latencies_us.size() / 2];
  state.counters["p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
}

// Normalize + Match + Add for every record.
void BM_NormalizeMatchAdd(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<Customer> records = Generate(n, 7);
  std::vector<double> lat;
  size_t candidates = 0;
  double bytes_per_rec = 0;
  for (auto _ : state) {
    lat.clear();
    lat.reserve(n);
    candidates = 0;
    const size_t heap_before = HeapInUse();
    Matcher m;
    for (size_t i = 0; i < n; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      NormalizedCustomer nc = channelhub::master::Normalize(records[i]);
      auto results = m.Match(nc);
      candidates += results.size();
      benchmark::DoNotOptimize(results.data());
      m.Add(records[i].source.id, std::move(nc));
      lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    bytes_per_rec = static_cast<double>(HeapInUse() - heap_before) / static_cast<double>(n);
  }
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes_per_rec"] = bytes_per_rec;
  state.counters["cand_per_rec"] = static_cast<double>(candidates) / static_cast<double>(n);
  Percentiles(state, lat);
}

// Match + Add on records normalised beforehand: the index alone.
void BM_MatchAdd(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<NormalizedCustomer> normalized;
  std::vector<std::string> ids;
  for (const Customer& c : Generate(n, 7)) {
    normalized.push_back(channelhub::master::Normalize(c));
    ids.push_back(c.source.id);
  }
  std::vector<double> lat;
  double bytes_per_rec = 0;
  for (auto _ : state) {
    lat.clear();
    lat.reserve(n);
    state.PauseTiming();
    std::vector<NormalizedCustomer> copy = normalized;
    state.ResumeTiming();
    const size_t heap_before = HeapInUse();
    Matcher m;
    for (size_t i = 0; i < n; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto results = m.Match(copy[i]);
      benchmark::DoNotOptimize(results.data());
      m.Add(ids[i], std::move(copy[i]));
      lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    // The records' strings were allocated before heap_before and are moved in: this counts the
    // index structures only (slots, id map, blocks). BM_NormalizeMatchAdd counts everything.
    bytes_per_rec = static_cast<double>(HeapInUse() - heap_before) / static_cast<double>(n);
  }
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["index_bytes_per_rec"] = bytes_per_rec;
  Percentiles(state, lat);
}

}  // namespace

BENCHMARK(BM_NormalizeMatchAdd)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_MatchAdd)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

BENCHMARK_MAIN();
