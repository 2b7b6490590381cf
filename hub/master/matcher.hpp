// Customer matching (hub/master): which stored customers may be the same real customer as an
// incoming one, and how sure we are. The golden-record store calls this as each event arrives:
//   NormalizedCustomer n = Normalize(customer, {.wecom_corp = corp});
//   for (const MatchResult& m : matcher.Match(n)) { ... m.decision ... }   // best first
//   matcher.Add(golden_or_source_id, std::move(n));
//
// ---- Scoring (Score(a, b, config)) ----
// 1. Deterministic keys, checked first, in this order (each can be switched off in MatchConfig):
//    - both credit codes valid (GB 32100 check digit) and different  -> -deterministic_score
//      (two legal entities; a branch office has its own code), rule kCreditCodeConflict
//    - both credit codes valid and equal                             -> +deterministic_score
//    - same WeCom unionid within the same corp                       -> +deterministic_score
//    - same WeCom external_userid within the same corp               -> +deterministic_score
// 2. Otherwise the weighted sum of comparisons. Each Comparison turns a similarity in [0, 1] into
//    a weight: the first level (in order) whose min_similarity the similarity reaches gives its
//    weight, else else_weight. A comparison contributes 0 when either side lacks the value, so a
//    missing field is no evidence either way. The comparisons (defaults in MatchConfig):
//      name             kName similarity on name_key (simplified, no punctuation, no legal form):
//                       homophones in Chinese names count as near misses (the input-method
//                       typo), and a name in pinyin is compared with one in characters
//      mobile / email   1 when the sets share a number / address, else 0
//      address          best Jaro-Winkler between the two records' address lines
//      city             exact equality of NormalizedCustomer::city (the first address's city)
//      district, postcode  exact equality, true when any address of one equals any of the other
//      credit_code      edit similarity, used when a code is invalid (a typo) — valid pairs are
//                       decided in step 1
//      wecom ids        exact equality within the same corp (when not decided in step 1)
//      kind_conflict    a person against a company or dealer: a fixed weight
//      branch_conflict  two organisations whose branch suffixes differ ("北京分公司" vs head
//                       office): a fixed weight
//      region_conflict  two organisations whose names carry different regions ("深圳市..." vs
//                       "上海..."; a name without one is no conflict): a fixed weight
//      attributes       one Comparison per named attribute (date of birth, id numbers, ...)
// 3. Decide(score): >= match_threshold -> kMatch (auto-merge), >= review_threshold -> kReview,
//    below -> kNew.
// Score is symmetric: Score(a, b) == Score(b, a) for every pair, so a pairwise decision never
// depends on arrival order. (Which candidates Blocking finds does: a block over max_block_size is
// not searched, and only records already added can be found.)
//
// ---- Blocking ----
// A BlockingRule names fields; a record's key for the rule is the combination of their values
// (every combination for the multi-valued mobile and email), and no key when one is empty. Two
// records are candidates when they share a key of some rule. Field names: "mobile", "email",
// "credit_code", "wecom_unionid" and "wecom_external_userid" (both scoped by corp), "name_key",
// "city", "district", "postcode", "attr:<name>". Defaults: mobile; email; credit_code;
// wecom_unionid; wecom_external_userid; name_key + city.
//
// Thread safety: const methods may run concurrently with each other, not with Add or Remove.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hub/master/normalize.hpp"

namespace channelhub::master {

enum class Decision { kNew, kReview, kMatch };
// "new", "review", "match".
std::string_view DecisionName(Decision d);

// kExact: 1 or 0. kJaroWinkler, kEdit: see similarity.hpp. kName:
//   - Jaro-Winkler for two names in alphabetic scripts, but syllable by syllable for two that
//     both read as pinyin (LatinPinyinSimilarity: "Huang Lei" / "Huang Zihui" share one syllable
//     of three, where Jaro-Winkler rates the shared surname above 0.8) unless pinyin_scale is 0;
//   - for two names with CJK ideographs, edit similarity where a homophone substitution costs
//     Comparison::homophone_cost (HomophoneEditSimilarity): each Chinese character is a
//     syllable, so "张嘉" and "张嘉萍" are different given names (0.67) while Jaro-Winkler would
//     rate the shared prefix 0.91; and "张伟" / "张玮" (both zhang wei, the usual input-method
//     typo) is 0.9 at the default cost, where "张伟" / "张强" (a relative) stays 0.5;
//   - a name in characters against a name in Latin letters: pinyin (PinyinSimilarity, any
//     reading, word grouping and order: "Zhang Wei", "WEI ZHANG", "Zhang Weiming"; another
//     name in pinyin scores the share of syllables in common), scaled by
//     Comparison::pinyin_scale — a pinyin spelling is not the same name (张伟 and 张玮 are both
//     zhang wei).
enum class SimilarityMethod { kExact, kJaroWinkler, kEdit, kName };

struct ComparisonLevel {
  double min_similarity = 1.0;
  double weight = 0.0;
};

struct Comparison {
  SimilarityMethod method = SimilarityMethod::kJaroWinkler;
  std::vector<ComparisonLevel> levels;  // checked in order; put the highest similarity first
  double else_weight = 0.0;
  // kName only (see SimilarityMethod): the cost of substituting a homophone in a Chinese name
  // (1 = as any other character), and the similarity of a Chinese name and its pinyin spelling.
  double homophone_cost = 0.2;
  double pinyin_scale = 0.95;

  // The weight for one similarity value.
  double Weigh(double similarity) const;
  // The similarity of two present values by "method".
  double Similarity(std::string_view a, std::string_view b) const;
};

struct AttributeRule {
  std::string attribute;
  Comparison comparison;
};

struct BlockingRule {
  std::vector<std::string> fields;
};

struct MatchConfig {
  // Step 1: deterministic keys.
  bool credit_code_conflict_separates = true;
  bool same_credit_code_matches = true;
  bool same_unionid_matches = true;
  bool same_external_userid_matches = true;
  double deterministic_score = 100.0;

  // Step 2: weighted comparisons (see the file comment). Chinese names differing in one
  // character (a typo, or a relative sharing the family phone) reach an edit similarity of
  // 0.5 (two characters), 0.67 (three) or 0.75 (four): that level is weak negative evidence, so
  // phone + address alone send such a pair to review rather than merging it. When the two
  // characters are homophones (the usual typo) the similarity is 0.9 (two characters), 0.93
  // (three) or 0.95 (four): with the phone and the address the pair merges, with the phone alone
  // a three-character name merges and a two-character one goes to review. A name in pinyin that
  // spells the other (0.95) counts like a homophone in a four-character name.
  Comparison name{SimilarityMethod::kName,
                  {{0.97, 5.0}, {0.93, 4.0}, {0.90, 3.0}, {0.80, 1.0}, {0.66, -1.0}}, -5.0};
  Comparison mobile{SimilarityMethod::kExact, {{1.0, 4.0}}, -1.0};
  Comparison email{SimilarityMethod::kExact, {{1.0, 4.0}}, -0.5};
  Comparison address{SimilarityMethod::kJaroWinkler, {{0.97, 2.5}, {0.90, 1.0}}, -0.5};
  Comparison city{SimilarityMethod::kExact, {{1.0, 0.5}}, -2.0};
  Comparison district{SimilarityMethod::kExact, {{1.0, 0.5}}, -0.5};
  Comparison postcode{SimilarityMethod::kExact, {{1.0, 0.5}}, -0.5};
  Comparison credit_code{SimilarityMethod::kEdit, {{1.0, 6.0}, {0.94, 3.0}}, -2.0};
  Comparison wecom_unionid{SimilarityMethod::kExact, {{1.0, 8.0}}, -5.0};
  Comparison wecom_external_userid{SimilarityMethod::kExact, {{1.0, 8.0}}, -3.0};
  double kind_conflict_weight = -4.0;
  double branch_conflict_weight = -8.0;
  // Two organisations whose names carry different regions ("北京某某" vs "上海某某").
  double region_conflict_weight = -4.0;
  std::vector<AttributeRule> attributes;

  // Step 3.
  double match_threshold = 8.0;
  double review_threshold = 5.0;

  // Blocking.
  std::vector<BlockingRule> blocking = {{{"mobile"}},        {{"email"}},
                                        {{"credit_code"}},   {{"wecom_unionid"}},
                                        {{"wecom_external_userid"}}, {{"name_key", "city"}}};
  std::size_t max_block_size = 2000;

  // InvalidArgument-style message for a bad configuration (unknown blocking field, review above
  // match threshold, a level list out of order), or "" when it is fine.
  std::string Check() const;
};

enum class MatchRule {
  kWeighted,
  kCreditCodeConflict,
  kSameCreditCode,
  kSameUnionid,
  kSameExternalUserid,
};
std::string_view MatchRuleName(MatchRule r);

struct ScoreResult {
  double score = 0.0;
  MatchRule rule = MatchRule::kWeighted;
};

// One comparison's part of a weighted score, for explaining a review item.
struct ScoreTerm {
  std::string comparison;  // "name", "mobile", "attr:dob", ...
  double similarity = 0.0;
  double weight = 0.0;
};

// Scores a pair (symmetric). When "explain" is not null it receives every term that applied.
ScoreResult Score(const NormalizedCustomer& a, const NormalizedCustomer& b, const MatchConfig& config,
                  std::vector<ScoreTerm>* explain = nullptr);
Decision Decide(double score, const MatchConfig& config);

// The blocking keys of a record under "config" (hashed, sorted, unique).
std::vector<std::uint64_t> BlockingKeys(const NormalizedCustomer& record, const MatchConfig& config);

struct MatchResult {
  std::string id;
  double score = 0.0;
  Decision decision = Decision::kNew;
  MatchRule rule = MatchRule::kWeighted;
};

// An in-memory index of normalised customers by blocking key.
class Matcher {
 public:
  // REQUIRES: config.Check() is "" (the configuration loader reports its message otherwise).
  explicit Matcher(MatchConfig config = {});
  ~Matcher();
  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  const MatchConfig& config() const { return config_; }

  // Adds a record; a record already under "id" is replaced.
  void Add(std::string id, NormalizedCustomer record);
  // Removes a record; false when there is none under "id".
  bool Remove(std::string_view id);
  // The record under "id", or null.
  const NormalizedCustomer* Find(std::string_view id) const;
  std::size_t size() const { return live_; }
  // Calls f(id, record) for every stored record, in the order they were added.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.live) f(std::string_view(*s.id), s.record);
    }
  }

  // The ids of stored records sharing a blocking key with "query", sorted, unique.
  std::vector<std::string> Candidates(const NormalizedCustomer& query) const;
  // Every candidate scored, best first (ties by id).
  std::vector<MatchResult> Match(const NormalizedCustomer& query) const;

  ScoreResult Score(const NormalizedCustomer& a, const NormalizedCustomer& b) const {
    return master::Score(a, b, config_);
  }
  Decision Decide(double score) const { return master::Decide(score, config_); }

 private:
  std::vector<std::uint32_t> CandidateSlots(const NormalizedCustomer& query) const;

  struct Slot {
    const std::string* id = nullptr;  // the key in by_id_ (node keys do not move)
    NormalizedCustomer record;
    bool live = false;
  };
  MatchConfig config_;
  std::deque<Slot> slots_;  // a deque: no copy of every record when it grows
  std::unordered_map<std::string, std::uint32_t> by_id_;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> blocks_;
  std::size_t live_ = 0;
};

}  // namespace channelhub::master
