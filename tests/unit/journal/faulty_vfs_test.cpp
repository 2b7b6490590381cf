// Durability under failing writes: a SQLite VFS that fails its n-th write, looped over n.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <set>

#include "hub/journal/journal.hpp"

namespace channelhub::journal {
namespace {

// Wraps the default VFS; every file's xWrite and xSync count down a shared budget and fail with
// SQLITE_IOERR once it is spent.
std::atomic<long> g_writes_left{-1};  // -1: never fail
sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_faulty;

struct FaultyFile {
  sqlite3_file base;      // must be first: SQLite sees a sqlite3_file*
  sqlite3_file* real;     // the wrapped file, allocated after this struct
};
sqlite3_io_methods g_methods;

bool Spend() {
  long left = g_writes_left.load();
  if (left < 0) return true;
  if (left == 0) return false;
  return g_writes_left.fetch_sub(1) > 0;
}

int FClose(sqlite3_file* f) { return reinterpret_cast<FaultyFile*>(f)->real->pMethods->xClose(reinterpret_cast<FaultyFile*>(f)->real); }
int FRead(sqlite3_file* f, void* b, int n, sqlite3_int64 o) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xRead(r, b, n, o); }
int FWrite(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  if (!Spend()) return SQLITE_IOERR_WRITE;
  auto* r = reinterpret_cast<FaultyFile*>(f)->real;
  return r->pMethods->xWrite(r, b, n, o);
}
int FTruncate(sqlite3_file* f, sqlite3_int64 s) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xTruncate(r, s); }
int FSync(sqlite3_file* f, int flags) {
  if (!Spend()) return SQLITE_IOERR_FSYNC;
  auto* r = reinterpret_cast<FaultyFile*>(f)->real;
  return r->pMethods->xSync(r, flags);
}
int FSize(sqlite3_file* f, sqlite3_int64* s) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xFileSize(r, s); }
int FLock(sqlite3_file* f, int l) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xLock(r, l); }
int FUnlock(sqlite3_file* f, int l) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xUnlock(r, l); }
int FCheck(sqlite3_file* f, int* o) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xCheckReservedLock(r, o); }
int FCtl(sqlite3_file* f, int op, void* a) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xFileControl(r, op, a); }
int FSector(sqlite3_file* f) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xSectorSize(r); }
int FDev(sqlite3_file* f) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xDeviceCharacteristics(r); }
int FShmMap(sqlite3_file* f, int i, int sz, int e, void volatile** p) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xShmMap(r, i, sz, e, p); }
int FShmLock(sqlite3_file* f, int o, int n, int fl) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xShmLock(r, o, n, fl); }
void FShmBarrier(sqlite3_file* f) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; r->pMethods->xShmBarrier(r); }
int FShmUnmap(sqlite3_file* f, int d) { auto* r = reinterpret_cast<FaultyFile*>(f)->real; return r->pMethods->xShmUnmap(r, d); }

int FOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  auto* ff = reinterpret_cast<FaultyFile*>(f);
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  int rc = g_base->xOpen(g_base, name, ff->real, flags, out);
  ff->base.pMethods = rc == SQLITE_OK ? &g_methods : nullptr;
  return rc;
}

void RegisterFaultyVfs() {
  static bool done = false;
  if (done) return;
  done = true;
  g_base = sqlite3_vfs_find(nullptr);
  g_faulty = *g_base;
  g_faulty.zName = "faulty";
  g_faulty.szOsFile = static_cast<int>(sizeof(FaultyFile)) + g_base->szOsFile;
  g_faulty.xOpen = FOpen;
  g_methods = sqlite3_io_methods{2, FClose, FRead, FWrite, FTruncate, FSync, FSize, FLock, FUnlock,
                                 FCheck, FCtl, FSector, FDev, FShmMap, FShmLock, FShmBarrier,
                                 FShmUnmap, nullptr, nullptr};
  ASSERT_EQ(sqlite3_vfs_register(&g_faulty, 0), SQLITE_OK);
}

TEST(JournalFaultTest, AcknowledgedAppendsSurviveAFailingWriteAtEveryPoint) {
  RegisterFaultyVfs();
  int n_with_failure = 0;
  for (long n = 0; n < 60; ++n) {
    char tmpl[] = "/tmp/chub-fault-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    JournalOptions o;
    o.path = dir + "/journal.db";
    o.vfs = "faulty";
    std::set<std::string> acked;
    {
      g_writes_left = -1;
      auto j = Journal::Open(o);
      ASSERT_TRUE(j.ok()) << j.status().ToString();
      g_writes_left = n;  // from here on, the n+1-th write or sync fails
      for (int i = 0; i < 30; ++i) {
        InboxEntry e;
        e.source = "s";
        e.event_id = "e" + std::to_string(i);
        e.content_type = "application/json";
        e.body = std::string(500, 'x');
        std::promise<bool> p;
        Status st = (*j)->Append(e, [&p](Result<AppendOutcome> r) { p.set_value(r.ok()); });
        ASSERT_TRUE(st.ok());
        if (p.get_future().get()) acked.insert(e.event_id);
      }
      g_writes_left = -1;
    }
    if (acked.size() < 30) ++n_with_failure;
    // Reopen with the plain VFS: every acknowledged append is there.
    JournalOptions plain = o;
    plain.vfs = "";
    auto j = Journal::Open(plain);
    ASSERT_TRUE(j.ok()) << "n=" << n << ": " << j.status().ToString();
    auto reader = std::move((*j)->NewReader()).value();
    auto rows = std::move(reader->PendingInbox(0, 1000)).value();
    std::set<std::string> stored;
    for (const auto& r : rows) stored.insert(r.event_id);
    for (const auto& id : acked) {
      EXPECT_TRUE(stored.count(id)) << "n=" << n << ": acknowledged " << id << " was lost";
    }
    j->reset();
    std::filesystem::remove_all(dir);
  }
  EXPECT_GT(n_with_failure, 10) << "the fault injection never bit";
}

}  // namespace
}  // namespace channelhub::journal
