#include "hub/master/matcher.hpp"

#include <algorithm>
#include <functional>

#include "hub/master/pinyin.hpp"
#include "hub/master/similarity.hpp"

namespace channelhub::master {

std::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kNew:
      return "new";
    case Decision::kReview:
      return "review";
    case Decision::kMatch:
      return "match";
  }
  return "new";
}

std::string_view MatchRuleName(MatchRule r) {
  switch (r) {
    case MatchRule::kWeighted:
      return "weighted";
    case MatchRule::kCreditCodeConflict:
      return "credit_code_conflict";
    case MatchRule::kSameCreditCode:
      return "same_credit_code";
    case MatchRule::kSameUnionid:
      return "same_unionid";
    case MatchRule::kSameExternalUserid:
      return "same_external_userid";
  }
  return "weighted";
}

double Comparison::Weigh(double similarity) const {
  for (const ComparisonLevel& level : levels) {
    if (similarity >= level.min_similarity) return level.weight;
  }
  return else_weight;
}

namespace {
// CJK Unified Ideographs and their extensions (A, B..), and the compatibility block.
bool HasIdeograph(std::u32string_view s) {
  for (char32_t c : s) {
    if ((c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F)) {
      return true;
    }
  }
  return false;
}

// Ideographs only (a name in characters).
bool AllIdeographs(std::u32string_view s) {
  if (s.empty()) return false;
  for (char32_t c : s) {
    if (!HasIdeograph(std::u32string_view(&c, 1))) return false;
  }
  return true;
}

// Latin letters only (ü included), as a name key in pinyin is.
bool IsPinyinLike(std::u32string_view s) {
  if (s.empty()) return false;
  for (char32_t c : s) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == 0xFC || c == 0xDC;
    if (!letter) return false;
  }
  return true;
}
}  // namespace

double Comparison::Similarity(std::string_view a, std::string_view b) const {
  switch (method) {
    case SimilarityMethod::kExact:
      return a == b ? 1.0 : 0.0;
    case SimilarityMethod::kJaroWinkler:
      return JaroWinkler(a, b);
    case SimilarityMethod::kEdit:
      return EditSimilarity(a, b);
    case SimilarityMethod::kName: {
      const std::u32string x = ToCodePoints(a);
      const std::u32string y = ToCodePoints(b);
      const bool cjk_x = HasIdeograph(x);
      const bool cjk_y = HasIdeograph(y);
      if (!cjk_x && !cjk_y) {
        // Pinyin names syllable by syllable (relatives share the surname and so a long prefix).
        if (pinyin_scale > 0.0 && IsPinyinLike(x) && IsPinyinLike(y)) {
          if (std::optional<double> p = LatinPinyinSimilarity(a, b)) return *p;
        }
        return JaroWinkler(x, y);
      }
      if (cjk_x && cjk_y) return HomophoneEditSimilarity(x, y, homophone_cost);
      // One name in characters, the other perhaps in pinyin.
      const std::u32string& hanzi = cjk_x ? x : y;
      const std::u32string& other = cjk_x ? y : x;
      if (IsPinyinLike(other) && AllIdeographs(hanzi)) {
        const double p = PinyinSimilarity(hanzi, cjk_x ? b : a);
        return p * pinyin_scale;
      }
      return EditSimilarity(x, y);
    }
  }
  return 0.0;
}

namespace {

bool IsKnownField(std::string_view f) {
  static constexpr std::string_view kFields[] = {"mobile",   "email",    "credit_code",
                                                 "wecom_unionid", "wecom_external_userid",
                                                 "name_key", "city",     "district",
                                                 "postcode"};
  if (f.substr(0, 5) == "attr:") return f.size() > 5;
  return std::find(std::begin(kFields), std::end(kFields), f) != std::end(kFields);
}

bool InUnitRange(double x) { return x >= 0.0 && x <= 1.0; }

bool LevelsOrdered(const Comparison& c) {
  for (std::size_t i = 1; i < c.levels.size(); ++i) {
    if (c.levels[i].min_similarity > c.levels[i - 1].min_similarity) return false;
  }
  return true;
}

// The values a field contributes to blocking keys (several for mobile and email).
void FieldValues(const NormalizedCustomer& r, std::string_view field, std::vector<std::string>* out) {
  out->clear();
  auto add = [&](std::string v) {
    if (!v.empty()) out->push_back(std::move(v));
  };
  if (field == "mobile") {
    for (const auto& m : r.mobiles) add(m);
  } else if (field == "email") {
    for (const auto& e : r.emails) add(e);
  } else if (field == "credit_code") {
    add(r.credit_code);
  } else if (field == "wecom_unionid") {
    if (!r.wecom_unionid.empty()) add(r.wecom_corp + '\x1f' + r.wecom_unionid);
  } else if (field == "wecom_external_userid") {
    if (!r.wecom_external_userid.empty()) add(r.wecom_corp + '\x1f' + r.wecom_external_userid);
  } else if (field == "name_key") {
    add(r.name_key);
  } else if (field == "city") {
    add(r.city);
  } else if (field == "district") {
    for (const auto& a : r.addresses) add(a.district);
  } else if (field == "postcode") {
    for (const auto& a : r.addresses) add(a.postcode);
  } else if (field.substr(0, 5) == "attr:") {
    add(std::string(r.Attribute(field.substr(5))));
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

bool IsOrganisation(model::CustomerKind k) { return k != model::CustomerKind::kPerson; }

// Adds one comparison's term; "sim" is only evaluated when both sides are present.
void AddTerm(double* score, std::vector<ScoreTerm>* explain, std::string_view name,
             const Comparison& c, double similarity) {
  const double w = c.Weigh(similarity);
  *score += w;
  if (explain != nullptr) explain->push_back({std::string(name), similarity, w});
}

// 1 when some value of "a" equals some value of "b" (sorted or not), by the getter.
template <typename Get>
double AnyEqual(const std::vector<NormalizedAddress>& a, const std::vector<NormalizedAddress>& b,
                Get get, bool* present) {
  bool has_a = false;
  bool has_b = false;
  for (const auto& x : a) has_a = has_a || !get(x).empty();
  for (const auto& y : b) has_b = has_b || !get(y).empty();
  *present = has_a && has_b;
  for (const auto& x : a) {
    if (get(x).empty()) continue;
    for (const auto& y : b) {
      if (get(x) == get(y)) return 1.0;
    }
  }
  return 0.0;
}

}  // namespace

std::string MatchConfig::Check() const {
  if (review_threshold > match_threshold) {
    return "review_threshold must not exceed match_threshold";
  }
  for (const BlockingRule& rule : blocking) {
    if (rule.fields.empty()) return "a blocking rule has no fields";
    for (const std::string& f : rule.fields) {
      if (!IsKnownField(f)) return "unknown blocking field \"" + f + "\"";
    }
  }
  for (const Comparison* c : {&name, &mobile, &email, &address, &city, &district, &postcode,
                              &credit_code, &wecom_unionid, &wecom_external_userid}) {
    if (!LevelsOrdered(*c)) return "comparison levels must be in descending min_similarity order";
    if (!InUnitRange(c->homophone_cost) || !InUnitRange(c->pinyin_scale)) {
      return "homophone_cost and pinyin_scale must lie in [0, 1]";
    }
  }
  for (const AttributeRule& a : attributes) {
    if (a.attribute.empty()) return "an attribute rule has no attribute name";
    if (!LevelsOrdered(a.comparison)) {
      return "attribute \"" + a.attribute + "\": levels must be in descending min_similarity order";
    }
  }
  return {};
}

ScoreResult Score(const NormalizedCustomer& a, const NormalizedCustomer& b, const MatchConfig& config,
                  std::vector<ScoreTerm>* explain) {
  // Step 1: deterministic keys.
  const bool both_codes_valid = a.credit_code_status == CreditCodeStatus::kValid &&
                                b.credit_code_status == CreditCodeStatus::kValid;
  if (both_codes_valid && a.credit_code != b.credit_code && config.credit_code_conflict_separates) {
    return {-config.deterministic_score, MatchRule::kCreditCodeConflict};
  }
  if (both_codes_valid && a.credit_code == b.credit_code && config.same_credit_code_matches) {
    return {config.deterministic_score, MatchRule::kSameCreditCode};
  }
  const bool same_corp = a.wecom_corp == b.wecom_corp;
  if (same_corp && config.same_unionid_matches && ExactMatch(a.wecom_unionid, b.wecom_unionid)) {
    return {config.deterministic_score, MatchRule::kSameUnionid};
  }
  if (same_corp && config.same_external_userid_matches &&
      ExactMatch(a.wecom_external_userid, b.wecom_external_userid)) {
    return {config.deterministic_score, MatchRule::kSameExternalUserid};
  }

  // Step 2: weighted comparisons.
  double score = 0.0;
  if (!a.name_key.empty() && !b.name_key.empty()) {
    AddTerm(&score, explain, "name", config.name, config.name.Similarity(a.name_key, b.name_key));
  }
  if (!a.mobiles.empty() && !b.mobiles.empty()) {
    AddTerm(&score, explain, "mobile", config.mobile, SortedIntersect(a.mobiles, b.mobiles) ? 1.0 : 0.0);
  }
  if (!a.emails.empty() && !b.emails.empty()) {
    AddTerm(&score, explain, "email", config.email, SortedIntersect(a.emails, b.emails) ? 1.0 : 0.0);
  }
  {
    double best = -1.0;
    for (const auto& x : a.addresses) {
      if (x.key.empty()) continue;
      for (const auto& y : b.addresses) {
        if (y.key.empty()) continue;
        best = std::max(best, config.address.Similarity(x.key, y.key));
      }
    }
    if (best >= 0.0) AddTerm(&score, explain, "address", config.address, best);
  }
  if (!a.city.empty() && !b.city.empty()) {
    AddTerm(&score, explain, "city", config.city, config.city.Similarity(a.city, b.city));
  }
  {
    bool present = false;
    const double sim = AnyEqual(a.addresses, b.addresses,
                                [](const NormalizedAddress& x) -> const std::string& { return x.district; },
                                &present);
    if (present) AddTerm(&score, explain, "district", config.district, sim);
    const double psim = AnyEqual(a.addresses, b.addresses,
                                 [](const NormalizedAddress& x) -> const std::string& { return x.postcode; },
                                 &present);
    if (present) AddTerm(&score, explain, "postcode", config.postcode, psim);
  }
  if (!a.credit_code.empty() && !b.credit_code.empty()) {
    AddTerm(&score, explain, "credit_code", config.credit_code,
            config.credit_code.Similarity(a.credit_code, b.credit_code));
  }
  if (same_corp && !a.wecom_unionid.empty() && !b.wecom_unionid.empty()) {
    AddTerm(&score, explain, "wecom_unionid", config.wecom_unionid,
            a.wecom_unionid == b.wecom_unionid ? 1.0 : 0.0);
  }
  if (same_corp && !a.wecom_external_userid.empty() && !b.wecom_external_userid.empty()) {
    AddTerm(&score, explain, "wecom_external_userid", config.wecom_external_userid,
            a.wecom_external_userid == b.wecom_external_userid ? 1.0 : 0.0);
  }
  if (IsOrganisation(a.kind) != IsOrganisation(b.kind) && config.kind_conflict_weight != 0.0) {
    score += config.kind_conflict_weight;
    if (explain != nullptr) explain->push_back({"kind_conflict", 0.0, config.kind_conflict_weight});
  }
  if (IsOrganisation(a.kind) && IsOrganisation(b.kind) && a.branch != b.branch &&
      config.branch_conflict_weight != 0.0) {
    score += config.branch_conflict_weight;
    if (explain != nullptr) explain->push_back({"branch_conflict", 0.0, config.branch_conflict_weight});
  }
  if (IsOrganisation(a.kind) && IsOrganisation(b.kind) && !a.name_region.empty() &&
      !b.name_region.empty() && a.name_region != b.name_region && config.region_conflict_weight != 0.0) {
    score += config.region_conflict_weight;
    if (explain != nullptr) explain->push_back({"region_conflict", 0.0, config.region_conflict_weight});
  }
  for (const AttributeRule& rule : config.attributes) {
    const std::string_view x = a.Attribute(rule.attribute);
    const std::string_view y = b.Attribute(rule.attribute);
    if (x.empty() || y.empty()) continue;
    AddTerm(&score, explain, "attr:" + rule.attribute, rule.comparison, rule.comparison.Similarity(x, y));
  }
  return {score, MatchRule::kWeighted};
}

Decision Decide(double score, const MatchConfig& config) {
  if (score >= config.match_threshold) return Decision::kMatch;
  if (score >= config.review_threshold) return Decision::kReview;
  return Decision::kNew;
}

std::vector<std::uint64_t> BlockingKeys(const NormalizedCustomer& record, const MatchConfig& config) {
  std::vector<std::uint64_t> keys;
  std::vector<std::string> values;
  std::vector<std::string> combos;
  std::vector<std::string> next;
  for (std::size_t r = 0; r < config.blocking.size(); ++r) {
    // The rule's tag ("A0", "B1", ...), built in place: GCC 12 at -O3 warns (-Wrestrict, a false
    // positive) on string(1, c) + to_string(r).
    std::string tag(1, static_cast<char>('A' + r % 26));
    tag.append(std::to_string(r));
    combos.assign(1, std::move(tag));
    for (const std::string& field : config.blocking[r].fields) {
      FieldValues(record, field, &values);
      next.clear();
      for (const std::string& prefix : combos) {
        for (const std::string& v : values) next.push_back(prefix + '\x1e' + v);
      }
      combos.swap(next);
      if (combos.empty()) break;
    }
    for (const std::string& k : combos) keys.push_back(std::hash<std::string>{}(k));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Matcher::Matcher(MatchConfig config) : config_(std::move(config)) {}
Matcher::~Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;

void Matcher::Add(std::string id, NormalizedCustomer record) {
  Remove(id);
  const auto slot = static_cast<std::uint32_t>(slots_.size());
  auto [it, inserted] = by_id_.emplace(std::move(id), slot);
  (void)inserted;
  for (std::uint64_t key : BlockingKeys(record, config_)) blocks_[key].push_back(slot);
  slots_.push_back(Slot{&it->first, std::move(record), true});
  ++live_;
}

bool Matcher::Remove(std::string_view id) {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return false;
  Slot& slot = slots_[it->second];
  // Take the slot out of its blocks and release its memory; the slot index is not reused.
  for (std::uint64_t key : BlockingKeys(slot.record, config_)) {
    auto b = blocks_.find(key);
    if (b == blocks_.end()) continue;
    auto& v = b->second;
    v.erase(std::remove(v.begin(), v.end(), it->second), v.end());
    if (v.empty()) blocks_.erase(b);
  }
  slot.live = false;
  slot.id = nullptr;
  slot.record = NormalizedCustomer();
  by_id_.erase(it);
  --live_;
  return true;
}

const NormalizedCustomer* Matcher::Find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &slots_[it->second].record;
}

std::vector<std::uint32_t> Matcher::CandidateSlots(const NormalizedCustomer& query) const {
  std::vector<std::uint32_t> out;
  for (std::uint64_t key : BlockingKeys(query, config_)) {
    auto b = blocks_.find(key);
    if (b == blocks_.end() || b->second.size() > config_.max_block_size) continue;
    out.insert(out.end(), b->second.begin(), b->second.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  out.erase(std::remove_if(out.begin(), out.end(), [&](std::uint32_t s) { return !slots_[s].live; }),
            out.end());
  return out;
}

std::vector<std::string> Matcher::Candidates(const NormalizedCustomer& query) const {
  std::vector<std::string> ids;
  for (std::uint32_t s : CandidateSlots(query)) ids.push_back(*slots_[s].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<MatchResult> Matcher::Match(const NormalizedCustomer& query) const {
  std::vector<MatchResult> out;
  for (std::uint32_t s : CandidateSlots(query)) {
    const ScoreResult r = master::Score(query, slots_[s].record, config_);
    out.push_back({*slots_[s].id, r.score, master::Decide(r.score, config_), r.rule});
  }
  std::sort(out.begin(), out.end(), [](const MatchResult& x, const MatchResult& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.id < y.id;
  });
  return out;
}

}  // namespace channelhub::master
