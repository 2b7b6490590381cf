// Encryption at rest in the journal: what is sealed, that every read opens it, that rows written
// before (in clear) still read, and `channelhub rekey`'s RekeyJournal.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>

#include "hub/common/seal.hpp"
#include "hub/journal/journal.hpp"

namespace channelhub::journal {
namespace {

const std::string kMobile = "13912345678";
const std::string kEmail = "zhao.lei@example.cn";

std::shared_ptr<const seal::Keyring> Ring(char current, std::vector<char> previous = {}) {
  std::vector<std::string> prev;
  for (char c : previous) prev.emplace_back(32, c);
  return *seal::Keyring::Create(std::string(32, current), prev);
}

class SealedJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chub-sealed-journal-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Journal> Open(std::shared_ptr<const seal::Keyring> ring) {
    JournalOptions o;
    o.path = dir_ + "/journal.db";
    o.keyring = std::move(ring);
    auto j = Journal::Open(o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  // One webhook with the person's data, mapped into one event for "erp" and one dead letter.
  void Fill(Journal& j, const std::string& id) {
    InboxEntry e;
    e.source = "shop";
    e.event_id = id;
    e.content_type = "application/json";
    e.body = R"({"phone":")" + kMobile + R"(","email":")" + kEmail + R"("})";
    e.received_at_ms = 1;
    std::promise<Result<AppendOutcome>> p;
    ASSERT_TRUE(j.Append(std::move(e), [&p](Result<AppendOutcome> r) { p.set_value(std::move(r)); }).ok());
    ASSERT_TRUE(p.get_future().get().ok());
    auto reader = std::move(j.NewReader()).value();
    auto rows = std::move(reader->PendingInbox(0, 10)).value();
    ASSERT_FALSE(rows.empty());
    ProcessedEvent ev;
    ev.inbox_seq = rows.back().seq;
    OutboxEntry o;
    o.destination = "erp";
    o.event_id = id + ":0";
    o.subject = "customer/shop/" + id;
    o.type = "com.channelhub.customer.upserted";
    o.payload = R"({"source":"/connectors/shop","subject":"customer/shop/)" + id + R"(","data":{"mobiles":["+86)" +
                kMobile + R"("]}})";
    o.created_at_ms = 10;
    ev.outbox.push_back(o);
    DeadLetter d;
    d.stage = "mapping";
    d.source = "shop";
    d.event_id = id;
    d.reason = "email " + kEmail + " is not allowed";
    d.payload = rows.back().body;
    ev.dead = d;
    ASSERT_TRUE(j.CommitProcessed({ev}).ok());
  }

  std::string Bytes() {
    std::string bytes;
    for (const char* file : {"/journal.db", "/journal.db-wal"}) {
      std::ifstream f(dir_ + file, std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    return bytes;
  }

  std::string dir_;
};

TEST_F(SealedJournalTest, StoresNoPersonalDataInClearAndReadsItBack) {
  auto j = Open(Ring('a'));
  ASSERT_TRUE(j);
  Fill(*j, "e1");
  ASSERT_TRUE(j->RecordDeliveries("erp", {{.seq = 1, .outcome = DeliveryOutcome::kRetry, .next_attempt_at_ms = 0,
                                           .error = "422: mobile " + kMobile + " unknown"}})
                  .ok());
  auto reader = std::move(j->NewReader()).value();
  auto due = std::move(reader->DueOutbox("erp", 100, 10)).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_NE(due[0].payload.find(kMobile), std::string::npos) << "delivered in clear";
  auto dead = std::move(reader->DeadLetters(10)).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0].reason.find(kEmail), std::string::npos);
  EXPECT_NE(dead[0].payload.find(kEmail), std::string::npos);
  auto trace = std::move(reader->Trace("shop", "e1")).value();
  ASSERT_TRUE(trace);
  EXPECT_NE(trace->deliveries[0].last_error.find(kMobile), std::string::npos);
  // Resend looks into the (sealed) payloads for their subject and source.
  auto resent = j->Resend("archive", {.source = "shop"}, "cli:test");
  ASSERT_TRUE(resent.ok()) << resent.status().ToString();
  EXPECT_EQ(*resent, 1);
  auto again = std::move(reader->DueOutbox("archive", 100, 10)).value();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].subject, "customer/shop/e1");
  // A dead letter that gives up carries the opened payload and its source.
  ASSERT_TRUE(j->RecordDeliveries("erp", {{.seq = 1, .outcome = DeliveryOutcome::kDead, .next_attempt_at_ms = 0,
                                           .error = "gone"}})
                  .ok());
  dead = std::move(reader->DeadLetters(10)).value();
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[1].source, "shop");
  EXPECT_NE(dead[1].payload.find(kMobile), std::string::npos);
  j.reset();
  const std::string bytes = Bytes();
  EXPECT_EQ(bytes.find(kMobile), std::string::npos);
  EXPECT_EQ(bytes.find(kEmail), std::string::npos);
  EXPECT_NE(bytes.find("customer/shop/e1"), std::string::npos) << "subjects (ids) stay in clear";
}

TEST_F(SealedJournalTest, OldRowsInClearStillReadAndRekeySealsThem) {
  {
    auto j = Open(nullptr);
    ASSERT_TRUE(j);
    Fill(*j, "old");
  }
  EXPECT_NE(Bytes().find(kMobile), std::string::npos) << "written before encryption was on";
  auto a = Ring('a');
  {
    auto j = Open(a);
    ASSERT_TRUE(j);
    Fill(*j, "new");  // mixed: one clear, one sealed
    auto reader = std::move(j->NewReader()).value();
    auto due = std::move(reader->DueOutbox("erp", 100, 10)).value();
    ASSERT_EQ(due.size(), 2u);
    for (const auto& r : due) EXPECT_NE(r.payload.find(kMobile), std::string::npos) << r.event_id;
  }
  std::map<std::string, int64_t> found;
  auto n = RekeyJournal(dir_ + "/journal.db", *a, &found);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_GT(found["plaintext"], 0);
  EXPECT_EQ(*n, found["plaintext"]) << "only the clear rows needed sealing";
  EXPECT_EQ(Bytes().find(kMobile), std::string::npos);
  EXPECT_EQ(Bytes().find(kEmail), std::string::npos);

  // Rotation: b is current, a previous; rekey; then a alone is gone and everything still reads.
  auto b_and_a = Ring('b', {'a'});
  found.clear();
  n = RekeyJournal(dir_ + "/journal.db", *b_and_a, &found);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(found[seal::KeyIdText(a->current_id())], *n);
  auto j = Open(Ring('b'));
  ASSERT_TRUE(j);
  auto reader = std::move(j->NewReader()).value();
  auto due = std::move(reader->DueOutbox("erp", 100, 10)).value();
  ASSERT_EQ(due.size(), 2u);
  auto dead = std::move(reader->DeadLetters(10)).value();
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_NE(dead[0].reason.find(kEmail), std::string::npos);
}

TEST_F(SealedJournalTest, AMissingKeyIsAnErrorNamingItNeverGarbage) {
  auto a = Ring('a');
  {
    auto j = Open(a);
    ASSERT_TRUE(j);
    Fill(*j, "e1");
  }
  for (auto ring : {Ring('b'), std::shared_ptr<const seal::Keyring>()}) {
    auto j = Open(ring);
    ASSERT_TRUE(j);
    auto reader = std::move(j->NewReader()).value();
    auto due = reader->DueOutbox("erp", 100, 10);
    ASSERT_FALSE(due.ok());
    EXPECT_NE(due.status().message().find(seal::KeyIdText(a->current_id())), std::string::npos)
        << due.status().message();
    auto erase = j->ErasePayloads({kEmail}, "t", "r", "G1");
    EXPECT_FALSE(erase.ok()) << "cannot tell whose payloads these are without the key";
  }
  auto rekey = RekeyJournal(dir_ + "/journal.db", *Ring('b'), nullptr);
  ASSERT_FALSE(rekey.ok());
  EXPECT_NE(rekey.status().message().find(seal::KeyIdText(a->current_id())), std::string::npos);
}

}  // namespace
}  // namespace channelhub::journal
