// The data_protection section (encryption at rest): key files checked at load, every problem
// named by file:line:column and key, and a key's contents never shown.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hub/common/seal.hpp"
#include "hub/config/config.hpp"

namespace channelhub::config {
namespace {

namespace fs = std::filesystem;

constexpr char kHex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr char kHex2[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

class DataProtectionConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "chub_dp_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  LoadResult Load(const std::string& section) {
    return LoadConfig(Write("hub.yaml", "listen: 127.0.0.1:0\ndata_dir: " + dir_ + "/var\n" + section, 0644));
  }
  std::vector<std::string> Errors(const std::string& section) {
    std::vector<std::string> out;
    for (const Diagnostic& d : Load(section).diagnostics) {
      std::string s = d.ToString();
      if (s.starts_with(dir_ + "/")) s.erase(0, dir_.size() + 1);
      out.push_back(s);
    }
    return out;
  }
  std::string dir_;
};

TEST_F(DataProtectionConfigTest, AbsentMeansNoEncryption) {
  LoadResult r = Load("");
  ASSERT_TRUE(r.config) << (r.diagnostics.empty() ? "" : r.diagnostics[0].ToString());
  EXPECT_FALSE(r.config->data_protection.enabled());
}

TEST_F(DataProtectionConfigTest, LoadsTheCurrentAndPreviousKeys) {
  const std::string a = Write("a.key", std::string(kHex) + "\n");
  const std::string b = Write("b.key", kHex2, 0640);
  LoadResult r = Load("data_protection:\n  key_file: " + a + "\n  previous_key_files: [" + b + "]\n");
  ASSERT_TRUE(r.config) << r.diagnostics[0].ToString();
  const DataProtection& dp = r.config->data_protection;
  ASSERT_TRUE(dp.enabled());
  EXPECT_EQ(dp.key_file, a);
  EXPECT_EQ(dp.previous_key_files, std::vector<std::string>{b});
  EXPECT_EQ(dp.keyring->ids().size(), 2u);
  // The ring seals with the current key and opens what the previous one sealed.
  auto previous = *seal::Keyring::Create(*seal::ParseKey(kHex2));
  EXPECT_EQ(*dp.keyring->Unseal(previous->Seal("x", "t"), "t"), "x");
  EXPECT_EQ(dp.keyring->current_id(), (*seal::Keyring::Create(*seal::ParseKey(kHex)))->current_id());
}

TEST_F(DataProtectionConfigTest, EveryProblemIsNamedByPlaceAndKey) {
  const std::string open = Write("open.key", kHex, 0644);
  const std::string bad = Write("bad.key", "not a key at all");
  const std::vector<std::string> errors =
      Errors("data_protection:\n  key_file: " + open + "\n  previous_key_files:\n    - " + bad + "\n    - " + dir_ +
             "/missing.key\n  key_files: x\n");
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  // In file order.
  EXPECT_NE(errors[0].find("hub.yaml:4:13: data_protection.key_file: "), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("every user of the host (mode 0644); restrict it: chmod 600"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("hub.yaml:6:7: data_protection.previous_key_files[0]: "), std::string::npos) << errors[1];
  EXPECT_NE(errors[1].find("expected 64 hex digits"), std::string::npos) << errors[1];
  EXPECT_EQ(errors[1].find("not a key at all"), std::string::npos) << "the contents are never shown";
  EXPECT_NE(errors[2].find("hub.yaml:7:7: data_protection.previous_key_files[1]: cannot read"), std::string::npos)
      << errors[2];
  EXPECT_NE(errors[2].find("No such file"), std::string::npos) << errors[2];
  EXPECT_NE(errors[3].find("hub.yaml:8:3: data_protection.key_files:"), std::string::npos) << errors[3];
}

TEST_F(DataProtectionConfigTest, KeyFileIsRequiredAndKeysMustDiffer) {
  auto missing = Errors("data_protection: {}\n");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("data_protection.key_file: missing; expected the file with the data key"), std::string::npos)
      << missing[0];
  const std::string a = Write("a.key", kHex);
  const std::string copy = Write("copy.key", kHex);
  auto twice = Errors("data_protection: { key_file: " + a + ", previous_key_files: [" + copy + "] }\n");
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_NE(twice[0].find("data_protection.key_file: key "), std::string::npos) << twice[0];
  EXPECT_NE(twice[0].find("is listed twice"), std::string::npos) << twice[0];
}

}  // namespace
}  // namespace channelhub::config
