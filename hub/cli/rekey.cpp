#include "hub/cli/rekey.hpp"

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "hub/cli/serve.hpp"
#include "hub/common/seal.hpp"
#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/journal/sqlite.hpp"
#include "hub/master/store.hpp"
#include "hub/pipeline/master_sink.hpp"

namespace channelhub::cli {
namespace {

std::string Found(const std::map<std::string, int64_t>& found) {
  std::string out;
  for (const auto& [key, n] : found) {
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + (key == "plaintext" ? "in clear" : "with key " + key);
  }
  return out.empty() ? "nothing stored" : out;
}

// VACUUM rewrites the file without its free pages, which may still hold what was there before.
bool Vacuum(const std::string& path) {
  auto db = journal::Database::Open(path, 5000);
  Status st = db.ok() ? (*db)->Exec("VACUUM") : db.status();
  if (st.ok()) st = (*db)->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!st.ok()) {
    std::fprintf(stderr, "channelhub: vacuum of %s failed (is the hub stopped?): %s\n", path.c_str(),
                 st.message().c_str());
    return false;
  }
  std::printf("%s: vacuumed\n", path.c_str());
  return true;
}

}  // namespace

int Rekey(const RekeyOptions& options) {
  const std::optional<config::Config> loaded = LoadForCommand(options.config_path, options.data_dir);
  if (!loaded) return 2;
  const config::Config& cfg = *loaded;
  if (!cfg.data_protection.enabled()) {
    std::fprintf(stderr,
                 "channelhub: %s has no data_protection section: there is no key to seal with (add "
                 "data_protection: {key_file: FILE}, see SECURITY.md)\n",
                 options.config_path.c_str());
    return 2;
  }
  const seal::Keyring& ring = *cfg.data_protection.keyring;
  const std::string current = seal::KeyIdText(ring.current_id());
  std::printf("current key %s (%s)", current.c_str(), cfg.data_protection.key_file.c_str());
  for (std::size_t i = 0; i < cfg.data_protection.previous_key_files.size(); ++i) {
    std::printf("%s %s (%s)", i == 0 ? "; previous:" : ",", seal::KeyIdText(ring.ids()[i + 1]).c_str(),
                cfg.data_protection.previous_key_files[i].c_str());
  }
  std::printf("\n");

  const std::string journal_path = (std::filesystem::path(cfg.data_dir) / "journal.db").string();
  bool any = false;
  if (std::filesystem::exists(journal_path)) {
    any = true;
    std::map<std::string, int64_t> found;
    auto n = journal::RekeyJournal(journal_path, ring, &found);
    if (!n.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", n.status().message().c_str());
      return 1;
    }
    std::printf("%s: found %s; %lld sealed again with key %s\n", journal_path.c_str(), Found(found).c_str(),
                static_cast<long long>(*n), current.c_str());
    if (options.vacuum && !Vacuum(journal_path)) return 1;
  }
  if (!cfg.master_destination.empty() && std::filesystem::exists(cfg.master.path)) {
    any = true;
    auto mo = pipeline::MasterOptionsFrom(cfg);
    if (!mo.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", mo.status().message().c_str());
      return 2;
    }
    auto stats = master::MasterStore::Rekey(*mo);
    if (!stats.ok()) {
      std::fprintf(stderr, "channelhub: %s\n", stats.status().message().c_str());
      return 1;
    }
    std::printf("%s: found %s; %lld sealed again with key %s%s\n", cfg.master.path.c_str(),
                Found(stats->found).c_str(), static_cast<long long>(stats->rewritten), current.c_str(),
                stats->search_keys_rebuilt ? "; order buyer mobiles hashed" : "");
    if (options.vacuum && !Vacuum(cfg.master.path)) return 1;
  }
  if (!any) {
    std::printf("no journal or master record in %s yet: nothing to do\n", cfg.data_dir.c_str());
    return 0;
  }
  std::printf("every stored value is sealed with key %s now%s\n", current.c_str(),
              cfg.data_protection.previous_key_files.empty()
                  ? ""
                  : "; the previous keys can leave data_protection.previous_key_files");
  return 0;
}

}  // namespace channelhub::cli
