// Accuracy of the matcher on the public Febrl synthetic person data sets (issue 6, item 7).
//
// The data sets live beside the clone in ../shared/datasets/febrl (see its README; they are not
// copied into the repository). rec-N-org and rec-N-dup-K are the same person; dataset4a/4b is a
// linkage task across the two files. Each record goes through the library's Normalize(), then a
// small Febrl adapter (here, not in the library) adds the Febrl-only fields as attributes, and a
// MatchConfig of Febrl rules scores them. Records arrive one by one: each is matched against the
// records already added, then added (dataset4: 4a is added, 4b is matched against it). Every
// pair the matcher decides kMatch is a predicted link; precision, recall and F1 are pairwise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hub/master/matcher.hpp"
#include "hub/master/normalize.hpp"

namespace channelhub::master {
namespace {

namespace fs = std::filesystem;

const fs::path kFebrlDir = fs::path(CHUB_SOURCE_DIR) / ".." / "shared" / "datasets" / "febrl";

struct FebrlRecord {
  std::string rec_id;
  long entity = -1;  // the N of rec-N-...
  NormalizedCustomer normalized;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The Febrl adapter: canonical Customer fields through Normalize(), the rest as attributes.
FebrlRecord Adapt(const std::vector<std::string>& f) {
  FebrlRecord r;
  r.rec_id = f[0];
  r.entity = std::stol(f[0].substr(4, f[0].find('-', 4) - 4));
  model::Customer c;
  c.kind = model::CustomerKind::kPerson;
  c.name = f[1] + " " + f[2];
  model::Address a;
  a.line = f[3] + " " + f[4] + ", " + f[5];
  a.city = f[6];
  a.postcode = f[7];
  a.province = f[8];
  a.country = "AU";
  c.addresses.push_back(a);
  r.normalized = Normalize(c);
  NormalizedCustomer& n = r.normalized;
  n.SetAttribute("given", AsciiLower(NormalizeText(f[1])));
  n.SetAttribute("surname", AsciiLower(NormalizeText(f[2])));
  n.SetAttribute("street_number", NormalizeText(f[3]));
  n.SetAttribute("address_1", StripPunctuation(AsciiLower(NormalizeText(f[4]))));
  n.SetAttribute("address_2", StripPunctuation(AsciiLower(NormalizeText(f[5]))));
  n.SetAttribute("suburb", StripPunctuation(AsciiLower(NormalizeText(f[6]))));
  n.SetAttribute("postcode", NormalizeText(f[7]));
  n.SetAttribute("state", AsciiLower(NormalizeText(f[8])));
  n.SetAttribute("dob", NormalizeText(f[9]));
  n.SetAttribute("ssn", NormalizeText(f[10]));
  return r;
}

std::vector<FebrlRecord> ReadFebrl(const fs::path& file) {
  std::vector<FebrlRecord> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("rec-", 0) != 0) continue;  // the header
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      fields.push_back(Trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (fields.size() != 11) {
      ADD_FAILURE() << file << ": expected 11 fields: " << line;
      continue;
    }
    out.push_back(Adapt(fields));
  }
  return out;
}

Comparison Jw(std::vector<ComparisonLevel> levels, double else_weight) {
  return {SimilarityMethod::kJaroWinkler, std::move(levels), else_weight};
}
Comparison Edit(std::vector<ComparisonLevel> levels, double else_weight) {
  return {SimilarityMethod::kEdit, std::move(levels), else_weight};
}
Comparison Exact(double agree, double disagree) {
  return {SimilarityMethod::kExact, {{1.0, agree}}, disagree};
}

// The Febrl rules: weights are rounded log2 likelihood ratios of agreement (how much likelier a
// level is among true pairs than among random pairs), the shape a Fellegi-Sunter model gives.
MatchConfig FebrlConfig() {
  MatchConfig c;
  // The customer comparisons of the Chinese domain do not apply; Febrl fields are attributes.
  c.name = Jw({{0.97, 1.0}}, 0.0);  // name_key: given and surname in any order
  c.address = Comparison{};
  c.city = Comparison{};
  c.district = Comparison{};
  c.postcode = Comparison{};
  c.attributes = {
      {"given", Jw({{0.97, 3.5}, {0.90, 2.0}, {0.80, 0.5}}, -2.5)},
      {"surname", Jw({{0.97, 4.0}, {0.90, 2.5}, {0.80, 0.5}}, -2.5)},
      {"street_number", Edit({{1.0, 2.0}, {0.5, 0.5}}, -1.5)},
      {"address_1", Jw({{0.97, 3.0}, {0.90, 1.5}, {0.80, 0.5}}, -2.0)},
      {"address_2", Jw({{0.97, 2.0}, {0.90, 1.0}}, -1.0)},
      {"suburb", Jw({{0.97, 2.5}, {0.90, 1.5}}, -1.5)},
      {"postcode", Edit({{1.0, 3.0}, {0.75, 1.0}}, -2.0)},
      {"state", Exact(1.0, -1.5)},
      {"dob", Edit({{1.0, 4.5}, {0.75, 2.0}}, -3.0)},
      {"ssn", Edit({{1.0, 6.0}, {0.85, 3.0}}, -3.0)},
  };
  c.blocking = {{{"attr:ssn"}},
                {{"attr:dob"}},
                {{"name_key"}},
                {{"attr:surname", "attr:postcode"}},
                {{"attr:given", "attr:suburb"}},
                {{"attr:address_1", "attr:street_number"}},
                {{"attr:postcode", "attr:street_number"}},
                {{"attr:surname", "attr:suburb"}}};
  // Random pairs that share a blocking key score at most about +2, true pairs mostly above +4.
  c.match_threshold = 3.0;
  c.review_threshold = 0.0;
  return c;
}

// FEBRL_HIST=1 prints, per data set, how many true and false candidate pairs reached each integer
// score: the gap between the two is where the thresholds belong.
int g_true_hist[41];
int g_false_hist[41];
struct Metrics {
  size_t true_pairs = 0;
  size_t predicted = 0;
  size_t true_positive = 0;
  size_t review_pairs = 0;
  size_t candidate_true_pairs = 0;  // true pairs blocking found
  size_t comparisons = 0;
  double precision() const { return predicted == 0 ? 0.0 : double(true_positive) / double(predicted); }
  double recall() const { return true_pairs == 0 ? 0.0 : double(true_positive) / double(true_pairs); }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
  }
};

// Matches "queries" against the index; when add_queries, each query is added after matching.
void MatchAll(Matcher& matcher, const std::vector<FebrlRecord>& queries, bool add_queries,
         const std::unordered_map<std::string, long>& entity_of, Metrics* m) {
  for (const FebrlRecord& q : queries) {
    for (const MatchResult& r : matcher.Match(q.normalized)) {
      ++m->comparisons;
      const bool same = entity_of.at(r.id) == q.entity;
      if (same) ++m->candidate_true_pairs;
      if (getenv("FEBRL_HIST")) {
        int b = static_cast<int>(std::floor(r.score));
        if (b < -10) b = -10;
        if (b > 30) b = 30;
        (same ? g_true_hist : g_false_hist)[b + 10]++;
      }
      if (r.decision == Decision::kMatch) {
        ++m->predicted;
        if (same) ++m->true_positive;
      } else if (r.decision == Decision::kReview) {
        ++m->review_pairs;
      }
    }
    if (add_queries) matcher.Add(q.rec_id, q.normalized);
  }
}

size_t TruePairs(const std::vector<FebrlRecord>& records) {
  std::unordered_map<long, size_t> count;
  for (const auto& r : records) ++count[r.entity];
  size_t pairs = 0;
  for (const auto& [entity, n] : count) pairs += n * (n - 1) / 2;
  return pairs;
}

void Report(const std::string& name, const Metrics& m, size_t records) {
  std::printf(
      "[febrl] %-9s records=%zu true_pairs=%zu predicted=%zu tp=%zu precision=%.4f recall=%.4f "
      "f1=%.4f review_pairs=%zu blocking_recall=%.4f comparisons=%zu\n",
      name.c_str(), records, m.true_pairs, m.predicted, m.true_positive, m.precision(), m.recall(),
      m.f1(), m.review_pairs, m.true_pairs == 0 ? 0.0 : double(m.candidate_true_pairs) / double(m.true_pairs),
      m.comparisons);
  if (getenv("FEBRL_HIST")) {
    for (int i = 0; i < 41; ++i) {
      if (g_true_hist[i] || g_false_hist[i]) std::printf("  score %3d: true %5d false %5d\n", i - 10, g_true_hist[i], g_false_hist[i]);
      g_true_hist[i] = g_false_hist[i] = 0;
    }
  }
  ::testing::Test::RecordProperty(name + "_precision", std::to_string(m.precision()));
  ::testing::Test::RecordProperty(name + "_recall", std::to_string(m.recall()));
  ::testing::Test::RecordProperty(name + "_f1", std::to_string(m.f1()));
  ::testing::Test::RecordProperty(name + "_review_pairs", std::to_string(m.review_pairs));
}

class Febrl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kFebrlDir)) GTEST_SKIP() << "no Febrl data sets at " << kFebrlDir;
    ASSERT_EQ(FebrlConfig().Check(), "");
  }

  Metrics RunSingle(const std::string& file) {
    std::vector<FebrlRecord> records = ReadFebrl(kFebrlDir / file);
    EXPECT_FALSE(records.empty()) << file;
    std::unordered_map<std::string, long> entity_of;
    for (const auto& r : records) entity_of[r.rec_id] = r.entity;
    Matcher matcher(FebrlConfig());
    Metrics m;
    m.true_pairs = TruePairs(records);
    MatchAll(matcher, records, true, entity_of, &m);
    Report(file.substr(0, file.find('.')), m, records.size());
    return m;
  }
};

TEST_F(Febrl, Dataset1) {
  const Metrics m = RunSingle("dataset1.csv");
  EXPECT_EQ(m.true_pairs, 500u);
  EXPECT_GE(m.precision(), 0.999);
  EXPECT_GE(m.recall(), 0.99);
  EXPECT_GE(m.f1(), 0.995);
}

TEST_F(Febrl, Dataset2) {
  const Metrics m = RunSingle("dataset2.csv");
  EXPECT_EQ(m.true_pairs, 1934u);
  EXPECT_GE(m.precision(), 0.999);
  EXPECT_GE(m.recall(), 0.99);
  EXPECT_GE(m.f1(), 0.995);
}

TEST_F(Febrl, Dataset3) {
  const Metrics m = RunSingle("dataset3.csv");
  EXPECT_GE(m.precision(), 0.999);
  EXPECT_GE(m.recall(), 0.99);
  EXPECT_GE(m.f1(), 0.995);
}

TEST_F(Febrl, Dataset4Linkage) {
  std::vector<FebrlRecord> a = ReadFebrl(kFebrlDir / "dataset4a.csv");
  std::vector<FebrlRecord> b = ReadFebrl(kFebrlDir / "dataset4b.csv");
  ASSERT_EQ(a.size(), 5000u);
  ASSERT_EQ(b.size(), 5000u);
  std::unordered_map<std::string, long> entity_of;
  for (const auto& r : a) entity_of[r.rec_id] = r.entity;
  Matcher matcher(FebrlConfig());
  for (const auto& r : a) matcher.Add(r.rec_id, r.normalized);
  Metrics m;
  std::unordered_map<long, size_t> in_a;
  for (const auto& r : a) ++in_a[r.entity];
  for (const auto& r : b) m.true_pairs += in_a.count(r.entity) ? in_a[r.entity] : 0;
  MatchAll(matcher, b, false, entity_of, &m);
  Report("dataset4", m, a.size() + b.size());
  EXPECT_EQ(m.true_pairs, 5000u);
  EXPECT_GE(m.precision(), 0.999);
  EXPECT_GE(m.recall(), 0.99);
  EXPECT_GE(m.f1(), 0.995);
}

}  // namespace
}  // namespace channelhub::master
