#include "hub/journal/journal.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <future>
#include <thread>

#include "hub/common/seal.hpp"

namespace channelhub::journal {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chub-journal-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.path = dir_ + "/journal.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Journal> Open() {
    auto j = Journal::Open(options_);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  static InboxEntry Entry(std::string source, std::string id, std::string body = "{}") {
    InboxEntry e;
    e.source = std::move(source);
    e.event_id = std::move(id);
    e.content_type = "application/json";
    e.body = std::move(body);
    e.received_at_ms = 1700000000000;
    return e;
  }

  // Appends and waits for the durable outcome.
  static Result<AppendOutcome> AppendSync(Journal& j, InboxEntry e) {
    std::promise<Result<AppendOutcome>> p;
    Status st = j.Append(std::move(e), [&p](Result<AppendOutcome> r) { p.set_value(std::move(r)); });
    if (!st.ok()) return st;
    return p.get_future().get();
  }

  static OutboxEntry Out(std::string dest, std::string id, std::string subject) {
    OutboxEntry o;
    o.destination = std::move(dest);
    o.event_id = std::move(id);
    o.subject = std::move(subject);
    o.type = "com.channelhub.order.upserted";
    o.payload = "{\"id\":\"" + o.event_id + "\"}";
    o.created_at_ms = 1000;
    return o;
  }

  std::string dir_;
  JournalOptions options_;
};

TEST_F(JournalTest, AppendsAndReadsBackPending) {
  auto j = Open();
  ASSERT_TRUE(j);
  auto r = AppendSync(*j, Entry("webshop", "e1", R"({"a":1})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, AppendOutcome::kAppended);
  auto reader = j->NewReader();
  ASSERT_TRUE(reader.ok());
  auto rows = (*reader)->PendingInbox(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].source, "webshop");
  EXPECT_EQ((*rows)[0].event_id, "e1");
  EXPECT_EQ((*rows)[0].body, R"({"a":1})");
  EXPECT_EQ((*rows)[0].received_at_ms, 1700000000000);
}

TEST_F(JournalTest, DeduplicatesBySourceAndEventId) {
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(*AppendSync(*j, Entry("webshop", "e1")), AppendOutcome::kAppended);
  EXPECT_EQ(*AppendSync(*j, Entry("webshop", "e1", "{\"other\":true}")), AppendOutcome::kDuplicate);
  // The same id from another source is another event.
  EXPECT_EQ(*AppendSync(*j, Entry("erp", "e1")), AppendOutcome::kAppended);
  auto reader = j->NewReader();
  auto stats = (*reader)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->inbox_total, 2);
  auto rows = (*reader)->PendingInbox(0, 10);
  EXPECT_EQ((*rows)[0].body, "{}") << "a duplicate must not overwrite the first body";
}

TEST_F(JournalTest, ConcurrentAppendsShareTransactions) {
  auto j = Open();
  ASSERT_TRUE(j);
  // Eight threads, each with 100 appends in flight at once (as 800 concurrent webhook requests).
  constexpr int kThreads = 8, kPerThread = 100;
  std::atomic<int> done{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::promise<void>> acks(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        Status st = j->Append(Entry("s", std::to_string(t) + "-" + std::to_string(i)),
                              [&, i](Result<AppendOutcome> r) {
                                ++(r.ok() ? done : failed);
                                acks[i].set_value();
                              });
        ASSERT_TRUE(st.ok());
      }
      for (auto& a : acks) a.get_future().wait();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done, kThreads * kPerThread);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(j->committed_ops(), static_cast<uint64_t>(kThreads * kPerThread));
  // Appends waiting together share one transaction: far fewer commits than appends.
  EXPECT_LT(j->commits(), j->committed_ops() / 4) << "commits=" << j->commits();
}

TEST_F(JournalTest, QueueLimitRefusesInsteadOfGrowing) {
  options_.queue_limit = 0;
  auto j = Open();
  ASSERT_TRUE(j);
  Status st = j->Append(Entry("s", "x"), [](Result<AppendOutcome>) { FAIL() << "not queued"; });
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
}

TEST_F(JournalTest, SurvivesReopen) {
  {
    auto j = Open();
    ASSERT_TRUE(j);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(AppendSync(*j, Entry("s", "id" + std::to_string(i))).ok());
  }
  auto j = Open();
  ASSERT_TRUE(j);
  auto reader = j->NewReader();
  auto rows = (*reader)->PendingInbox(0, 100);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 20u);
  EXPECT_EQ(*AppendSync(*j, Entry("s", "id3")), AppendOutcome::kDuplicate);
}

TEST_F(JournalTest, ProcessedEventsGoToOutboxInOrderPerSubject) {
  auto j = Open();
  ASSERT_TRUE(j);
  ASSERT_TRUE(AppendSync(*j, Entry("s", "a")).ok());
  ASSERT_TRUE(AppendSync(*j, Entry("s", "b")).ok());
  auto reader = std::move(j->NewReader()).value();
  auto rows = std::move(reader->PendingInbox(0, 10)).value();
  ASSERT_EQ(rows.size(), 2u);

  std::vector<ProcessedEvent> batch(2);
  batch[0].inbox_seq = rows[0].seq;
  batch[0].outbox = {Out("erp", "a:0", "order/1"), Out("erp", "a:1", "order/2")};
  batch[1].inbox_seq = rows[1].seq;
  batch[1].outbox = {Out("erp", "b:0", "order/1")};
  ASSERT_TRUE(j->CommitProcessed(batch).ok());
  EXPECT_TRUE(reader->PendingInbox(0, 10)->empty());

  // Only the oldest row of each subject is due: b:0 waits behind a:0.
  auto due = std::move(reader->DueOutbox("erp", 5000, 10)).value();
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].event_id, "a:0");
  EXPECT_EQ(due[1].event_id, "a:1");

  // a:0 fails and is retried later: b:0 still waits (ordering), a:1 is delivered.
  ASSERT_TRUE(j->RecordDeliveries("erp", {{due[0].seq, DeliveryOutcome::kRetry, 9000, "HTTP 503"},
                                          {due[1].seq, DeliveryOutcome::kDelivered, 0, ""}})
                  .ok());
  EXPECT_TRUE(reader->DueOutbox("erp", 5000, 10)->empty());
  EXPECT_EQ(**reader->NextAttemptAt("erp"), 9000);
  due = std::move(reader->DueOutbox("erp", 9000, 10)).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event_id, "a:0");
  EXPECT_EQ(due[0].attempts, 1);

  // a:0 is given up: a dead letter; b:0 is next.
  ASSERT_TRUE(j->RecordDeliveries("erp", {{due[0].seq, DeliveryOutcome::kDead, 9500, "HTTP 400"}}).ok());
  due = std::move(reader->DueOutbox("erp", 9000, 10)).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event_id, "b:0");
  auto dead = std::move(reader->DeadLetters(10)).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].stage, "delivery");
  EXPECT_EQ(dead[0].destination, "erp");
  EXPECT_EQ(dead[0].event_id, "a:0");
  EXPECT_EQ(dead[0].reason, "HTTP 400");
}

TEST_F(JournalTest, ReprocessingTheSameBatchDoesNotDuplicateOutboxRows) {
  auto j = Open();
  ASSERT_TRUE(j);
  ASSERT_TRUE(AppendSync(*j, Entry("s", "a")).ok());
  auto reader = std::move(j->NewReader()).value();
  auto rows = std::move(reader->PendingInbox(0, 10)).value();
  std::vector<ProcessedEvent> batch(1);
  batch[0].inbox_seq = rows[0].seq;
  batch[0].outbox = {Out("erp", "a:0", "order/1")};
  ASSERT_TRUE(j->CommitProcessed(batch).ok());
  ASSERT_TRUE(j->CommitProcessed(batch).ok());  // as after a crash between commit and bookkeeping
  EXPECT_EQ(reader->DueOutbox("erp", 5000, 10)->size(), 1u);
}

TEST_F(JournalTest, MappingDeadLetterMarksTheInboxRow) {
  auto j = Open();
  ASSERT_TRUE(j);
  ASSERT_TRUE(AppendSync(*j, Entry("s", "bad", "{\"x\":1}")).ok());
  auto reader = std::move(j->NewReader()).value();
  auto rows = std::move(reader->PendingInbox(0, 10)).value();
  std::vector<ProcessedEvent> batch(1);
  batch[0].inbox_seq = rows[0].seq;
  batch[0].dead = DeadLetter{"mapping", "s", "", "bad", "line_items: expected an array", "{\"x\":1}", 1};
  ASSERT_TRUE(j->CommitProcessed(batch).ok());
  EXPECT_TRUE(reader->PendingInbox(0, 10)->empty());
  auto dead = std::move(reader->DeadLetters(10)).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "line_items: expected an array");
  EXPECT_EQ(dead[0].payload, "{\"x\":1}");
}

TEST_F(JournalTest, OpenFailsClearlyOnAnUnwritablePath) {
  options_.path = dir_ + "/no/such/dir/journal.db";
  auto j = Journal::Open(options_);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("journal.db"), std::string::npos) << j.status().ToString();
}

TEST_F(JournalTest, ClosedJournalRefusesAppends) {
  auto j = Open();
  ASSERT_TRUE(j);
  j->Close();
  Status st = j->Append(Entry("s", "late"), [](Result<AppendOutcome>) {});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace channelhub::journal

namespace channelhub::journal {
namespace {

// Runs plain (false) and with encryption at rest (true): sealed payloads are searched in C++.
class JournalEraseTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chub-journal-erase-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    JournalOptions o;
    o.path = dir_ + "/journal.db";
    if (GetParam()) o.keyring = *seal::Keyring::Create(std::string(32, 'k'));
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok());
    j_ = std::move(j).value();
  }
  void TearDown() override {
    j_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Append(const std::string& id, const std::string& body) {
    InboxEntry e;
    e.source = "shop";
    e.event_id = id;
    e.content_type = "application/json";
    e.body = body;
    e.received_at_ms = 1;
    std::promise<Result<AppendOutcome>> p;
    ASSERT_TRUE(j_->Append(std::move(e), [&p](Result<AppendOutcome> r) { p.set_value(std::move(r)); }).ok());
    ASSERT_TRUE(p.get_future().get().ok());
  }
  std::string dir_;
  std::unique_ptr<Journal> j_;
};

TEST_P(JournalEraseTest, ErasesEveryPayloadOfThePersonAndStopsTheirDeliveries) {
  Append("a", R"({"name":"王芳","phone":"138 0013 8000"})");
  Append("b", R"({"name":"李娜","email":"Li.Na@Example.cn"})");
  Append("c", R"({"name":"someone else","phone":"13900000000"})");
  auto reader = std::move(j_->NewReader()).value();
  auto rows = std::move(reader->PendingInbox(0, 10)).value();
  ASSERT_EQ(rows.size(), 3u);
  std::vector<ProcessedEvent> batch(3);
  for (int i = 0; i < 3; ++i) {
    batch[i].inbox_seq = rows[i].seq;
    OutboxEntry o;
    o.destination = "erp";
    o.event_id = rows[i].event_id + ":0";
    o.subject = "customer/" + rows[i].event_id;
    o.type = "com.channelhub.customer.upserted";
    o.payload = i == 0 ? R"({"data":{"mobiles":["+8613800138000"]}})" : "{\"data\":" + rows[i].body + "}";
    o.created_at_ms = 1;
    batch[i].outbox.push_back(o);
  }
  ASSERT_TRUE(j_->CommitProcessed(batch).ok());
  EXPECT_EQ(j_->ErasePayloads({"abc"}, "t", "r", "G1").status().code(), StatusCode::kInvalidArgument);
  auto n = j_->ErasePayloads({"+8613800138000", "13800138000", "138 0013 8000", "li.na@example.cn"}, "cli:dpo",
                             "PIPL-2026-0042", "G7");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4) << "two inbox bodies and two events";
  // Only the third person's event is still to be delivered.
  auto due = std::move(reader->DueOutbox("erp", 10, 10)).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event_id, "c:0");
  auto trace = std::move(reader->Trace("shop", "a")).value();
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(trace->deliveries[0].state, 1);
  auto audit = std::move(reader->Audit(10)).value();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "customers.erase");
  EXPECT_EQ(audit[0].actor, "cli:dpo");
  EXPECT_EQ(audit[0].target, "G7");
  EXPECT_EQ(audit[0].detail.find("138"), std::string::npos) << "the audit holds no personal data";
  // Nothing of the erased persons is left in the database file once checkpointed.
  j_.reset();
  std::string bytes;
  for (const char* file : {"/journal.db", "/journal.db-wal"}) {
    std::ifstream f(dir_ + file, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(bytes.find("0013 8000"), std::string::npos);
  EXPECT_EQ(bytes.find("Li.Na@"), std::string::npos);
  if (GetParam()) {
    EXPECT_EQ(bytes.find("13900000000"), std::string::npos) << "sealed: nobody's number is in clear";
  } else {
    EXPECT_NE(bytes.find("13900000000"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Encryption, JournalEraseTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Sealed" : "Plain"; });

}  // namespace
}  // namespace channelhub::journal
