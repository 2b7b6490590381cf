// The master record at scale (issue 6 item 8): customer records arriving as events are resolved
// into golden records by MasterStore::Apply — normalise, match against every stored record that
// shares a blocking key, link or merge, survivorship, a new version, search keys and an emission,
// all in SQLite with one fsync per batch, exactly as the hub's master destination does it (the
// dispatcher hands it up to 128 events at a time).
//
// Generated Chinese person and company records; about one in four is another system's copy of an
// earlier customer (traditional characters, an address in one line, a different e-mail case),
// one in ten shares a family phone with a relative.
//
// Counters:
//   upserts_per_s   records applied per second of Apply time (generation excluded)
//   p50_ms, p99_ms  the latency of one upsert: the time of the Apply call (one transaction, one
//                   fsync) it was part of, since it is durable only when that call returns
//   rss_per_rec     growth of the resident set (matcher index, SQLite page cache at most 64 MiB)
//                   divided by the records
//   db_bytes_per_rec  size of the database file per record
//   goldens         golden records at the end
//
//   build/bench/master_store_bench --benchmark_counters_tabular=true
//   build/bench/master_store_bench --benchmark_filter='records:1000000'   # the 1M runs, minutes
//   build/bench/master_store_bench --benchmark_filter='records:100000/batch:32'  # sealed:0 vs 1
// "sealed:1" runs with encryption at rest (data_protection: records and versions sealed with
// AES-256-GCM, search keys hashed), "sealed:0" without.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "hub/common/seal.hpp"
#include "hub/master/normalize.hpp"
#include "hub/master/store.hpp"
#include "hub/model/customer.hpp"

namespace {

using channelhub::master::MasterInput;
using channelhub::master::MasterOptions;
using channelhub::master::MasterStore;
using channelhub::model::Customer;
using channelhub::model::CustomerKind;

const char* const kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
                                 "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
                                 "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏"};
const char* const kGiven[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
                              "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "鹏", "辉", "建", "国", "文",
                              "斌", "宇", "浩", "凯", "晨", "雪", "琳", "欣", "子", "梓", "轩", "睿", "思", "嘉", "佳", "一",
                              "海", "波", "亮", "俊", "峰", "新", "志", "光", "天", "东", "博", "振", "帆", "瑞", "彤", "颖"};
const char* const kTraditional[][2] = {{"伟", "偉"}, {"丽", "麗"}, {"军", "軍"}, {"杰", "傑"}, {"涛", "濤"},
                                       {"红", "紅"}, {"鹏", "鵬"}, {"辉", "輝"}, {"国", "國"}, {"刘", "劉"},
                                       {"陈", "陳"}, {"杨", "楊"}, {"黄", "黃"}, {"赵", "趙"}, {"吴", "吳"}};
const char* const kCities[][3] = {{"广东省", "深圳市", "南山区"}, {"广东省", "广州市", "天河区"}, {"北京市", "北京市", "朝阳区"},
                                  {"上海市", "上海市", "浦东新区"}, {"浙江省", "杭州市", "西湖区"}, {"江苏省", "苏州市", "吴中区"},
                                  {"四川省", "成都市", "武侯区"},   {"湖北省", "武汉市", "洪山区"}, {"山东省", "青岛市", "市南区"},
                                  {"河南省", "郑州市", "金水区"},   {"福建省", "厦门市", "思明区"}, {"湖南省", "长沙市", "岳麓区"}};
const char* const kRoads[] = {"科技园路", "建国路", "人民路", "中山路", "解放路", "世纪大道", "文三路", "长江路", "和平路", "新华路"};
const char* const kWords[] = {"华", "创", "信", "达", "恒", "泰", "新", "盛", "源", "通", "鑫", "宏", "远", "博", "联", "嘉"};
const char* const kTrades[] = {"科技", "贸易", "电子", "商贸", "物流", "食品", "机械", "医药", "建材", "服饰"};
const char* const kSystems[] = {"shopify", "youzan", "wecom", "wms"};

template <typename T, std::size_t N>
const T& Pick(std::mt19937_64& rng, const T (&arr)[N]) {
  return arr[rng() % N];
}

std::string Traditional(std::string s) {
  for (const auto& pair : kTraditional) {
    std::size_t at = 0;
    while ((at = s.find(pair[0], at)) != std::string::npos) s.replace(at, 3, pair[1]);
  }
  return s;
}

// Customers in arrival order, made on the fly so that the generator's own memory stays small:
// the originals are kept as their seeds, not as records.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Customer Next() {
    ++made_;
    if (originals_ > 0 && rng_() % 4 == 0) {
      const uint64_t of = rng_() % originals_;
      Customer c = Original(of);
      c.source = {kSystems[rng_() % 4], "s" + std::to_string(made_)};
      if (rng_() % 3 == 0) c.name = Traditional(c.name);
      if (rng_() % 2 == 0) {
        auto& a = c.addresses[0];
        a.line = a.province + a.city + a.district + a.line;
        a.province.clear();
        a.city.clear();
        a.district.clear();
      }
      if (!c.emails.empty() && rng_() % 2 == 0) c.emails[0] = "User" + std::to_string(of) + "@Example.cn";
      return c;
    }
    const uint64_t id = originals_++;
    if (id % 10 == 9) {
      // A relative on the family phone of the customer before: another given name.
      Customer c = Original(id - 1);
      c.name = c.name.substr(0, 3) + Pick(rng_, kGiven);
      c.emails.clear();
      c.source = {"erp", "e" + std::to_string(id)};
      return c;
    }
    return Original(id);
  }

 private:
  Customer Original(uint64_t id) const {
    std::mt19937_64 r(id * 0x9E3779B97F4A7C15ULL + 1);
    Customer c;
    if (r() % 5 == 0) {
      c.kind = CustomerKind::kCompany;
      c.name = std::string(Pick(r, kWords)) + Pick(r, kWords) + Pick(r, kWords) + Pick(r, kTrades) + "有限公司";
      std::string code = "91" + std::to_string(110000 + r() % 800000) + std::to_string(100000000 + id % 899999999);
      code.resize(17, '0');
      c.credit_code = code + *channelhub::master::CreditCodeCheckChar(code);
    } else {
      c.name = std::string(Pick(r, kSurnames)) + Pick(r, kGiven) + (r() % 3 ? Pick(r, kGiven) : "");
    }
    c.mobiles.push_back("+861" + std::to_string(3000000000ULL + (id * 7919ULL) % 6999999999ULL));
    if (r() % 3 == 0) c.emails.push_back("user" + std::to_string(id) + "@example.cn");
    const auto& city = kCities[r() % (sizeof(kCities) / sizeof(kCities[0]))];
    channelhub::model::Address a;
    a.province = city[0];
    a.city = city[1];
    a.district = city[2];
    a.line = std::string(Pick(r, kRoads)) + std::to_string(1 + r() % 900) + "号";
    c.addresses.push_back(a);
    c.source = {"erp", "e" + std::to_string(id)};
    return c;
  }

  std::mt19937_64 rng_;
  uint64_t made_ = 0;
  uint64_t originals_ = 0;
};

long ResidentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

void BM_MasterUpserts(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::size_t kBatch = static_cast<std::size_t>(state.range(1));
  const bool sealed = state.range(2) != 0;
  std::vector<double> batch_ms;
  double apply_s = 0;
  long rss_growth = 0;
  uintmax_t db_bytes = 0;
  int64_t goldens = 0;
  for (auto _ : state) {
    const std::string dir = "/tmp/chub-master-bench-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    const long rss_before = ResidentBytes();
    MasterOptions o;
    o.path = dir + "/master.db";
    if (sealed) o.keyring = *channelhub::seal::Keyring::Create(channelhub::seal::RandomKey());
    auto store = MasterStore::Open(o);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    Generator gen(42);
    batch_ms.clear();
    apply_s = 0;
    std::vector<MasterInput> batch;
    std::size_t done = 0;
    while (done < n) {
      batch.clear();
      for (std::size_t i = 0; i < kBatch && done + i < n; ++i) {
        Customer c = gen.Next();
        batch.push_back({"ev-" + std::to_string(done + i), "com.channelhub.customer.upserted",
                         channelhub::model::ToJson(c), 1700000000000 + static_cast<int64_t>(done + i)});
      }
      const auto t0 = std::chrono::steady_clock::now();
      auto r = (*store)->Apply(batch);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
      apply_s += s;
      batch_ms.push_back(s * 1000);
      done += batch.size();
    }
    rss_growth = ResidentBytes() - rss_before;
    // Handed over as the hub would, so that the file holds what it holds in service.
    for (;;) {
      auto p = (*store)->PendingEmissions(4096);
      if (!p.ok() || p->empty()) break;
      std::vector<int64_t> seqs;
      for (const auto& e : *p) seqs.push_back(e.seq);
      (void)(*store)->MarkEmitted(seqs);
    }
    goldens = (*store)->Stats()->goldens;
    store->reset();
    for (const auto& f : std::filesystem::directory_iterator(dir)) db_bytes += f.file_size();
    std::filesystem::remove_all(dir);
  }
  std::sort(batch_ms.begin(), batch_ms.end());
  state.counters["upserts_per_s"] = static_cast<double>(n) / apply_s;
  state.counters["p50_ms"] = batch_ms[batch_ms.size() / 2];
  state.counters["p99_ms"] = batch_ms[batch_ms.size() * 99 / 100];
  state.counters["rss_per_rec"] = static_cast<double>(rss_growth) / static_cast<double>(n);
  state.counters["db_bytes_per_rec"] = static_cast<double>(db_bytes) / static_cast<double>(n);
  state.counters["goldens"] = static_cast<double>(goldens);
}

// Arguments: records, events per Apply call (the hub's master destination takes 32 at a time),
// encryption at rest off (0) or on (1).
BENCHMARK(BM_MasterUpserts)
    ->ArgNames({"records", "batch", "sealed"})
    ->ArgsProduct({{10000, 100000, 1000000}, {32, 128}, {0, 1}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
