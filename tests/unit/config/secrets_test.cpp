#include "hub/config/secrets.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace channelhub::config::detail {
namespace {

namespace fs = std::filesystem;

class SubstituteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "chub_secrets_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    context_.base_dir = dir_;
    context_.data_dir = "./var";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    ::unsetenv("CHUB_TEST_SECRET");
    ::unsetenv("CHUB_TEST_EMPTY");
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(dir_) / name, std::ios::binary) << text;
  }

  std::string dir_;
  SubstitutionContext context_;
};

TEST_F(SubstituteTest, LeavesPlainTextAlone) {
  Substituted r = Substitute("plain $text {x} $", context_);
  EXPECT_EQ(r.value, "plain $text {x} $");
  EXPECT_FALSE(r.changed);
  EXPECT_FALSE(r.secret);
  EXPECT_TRUE(r.errors.empty());
}

TEST_F(SubstituteTest, ReplacesEnvironmentVariables) {
  ::setenv("CHUB_TEST_SECRET", "s3cr3t", 1);
  Substituted r = Substitute("Bearer ${env:CHUB_TEST_SECRET}!", context_);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value, "Bearer s3cr3t!");
  EXPECT_TRUE(r.secret);
}

TEST_F(SubstituteTest, ReportsMissingAndEmptyVariablesWithoutValues) {
  ::setenv("CHUB_TEST_EMPTY", "", 1);
  Substituted r = Substitute("${env:CHUB_TEST_SECRET}${env:CHUB_TEST_EMPTY}", context_);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0],
            "environment variable CHUB_TEST_SECRET is not set (used as ${env:CHUB_TEST_SECRET})");
  EXPECT_EQ(r.errors[1],
            "environment variable CHUB_TEST_EMPTY is empty (used as ${env:CHUB_TEST_EMPTY})");
}

TEST_F(SubstituteTest, RejectsBadVariableNames) {
  Substituted r = Substitute("${env:MY VAR}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "in \"${env:MY VAR}\": expected an environment variable name of letters, digits and "
            "\"_\", like ${env:SHOPIFY_WEBHOOK_SECRET}");
  EXPECT_EQ(Substitute("${env:1ABC}", context_).errors.size(), 1u);
  EXPECT_EQ(Substitute("${env:}", context_).errors.size(), 1u);
}

TEST_F(SubstituteTest, ReadsFilesAndTrimsTrailingWhitespace) {
  Write("token", "  abc def \r\n\n");
  Substituted r = Substitute("${file:" + dir_ + "/token}", context_);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value, "  abc def");
  EXPECT_TRUE(r.secret);
}

TEST_F(SubstituteTest, ReadsRelativeFilesFromTheBaseDirectory) {
  Write("token", "xyz\n");
  Substituted r = Substitute("${file:token}", context_);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value, "xyz");
}

TEST_F(SubstituteTest, ReportsUnreadableFilesWithTheReason) {
  const std::string missing = dir_ + "/missing";
  Substituted r = Substitute("${file:" + missing + "}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "cannot read ${file:" + missing + "}: No such file or directory");
  r = Substitute("${file:" + dir_ + "}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "cannot read ${file:" + dir_ + "}: Is a directory");
}

TEST_F(SubstituteTest, ReportsEmptyFiles) {
  Write("empty", " \n");
  Substituted r = Substitute("${file:empty}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "the file of ${file:empty} is empty");
}

TEST_F(SubstituteTest, ReplacesDataDir) {
  Substituted r = Substitute("${data_dir}/out/${data_dir}", context_);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value, "./var/out/./var");
  EXPECT_TRUE(r.changed);
  EXPECT_FALSE(r.secret);
}

TEST_F(SubstituteTest, DataDirFromASecretIsSecret) {
  context_.data_dir_secret = true;
  Substituted r = Substitute("${data_dir}/x", context_);
  EXPECT_EQ(r.value, "./var/x");
  EXPECT_TRUE(r.secret);
}

TEST_F(SubstituteTest, RefusesDataDirWhereItIsNotKnown) {
  context_.data_dir = std::nullopt;
  Substituted r = Substitute("${data_dir}/x", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "${data_dir} cannot be used in data_dir itself");
}

TEST_F(SubstituteTest, RejectsUnknownReferencesWithSuggestion) {
  Substituted r = Substitute("${foo}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "unknown substitution \"${foo}\"; expected ${env:NAME}, ${file:/path} or ${data_dir}");
  r = Substitute("${datadir}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "unknown substitution \"${datadir}\"; expected ${env:NAME}, ${file:/path} or "
            "${data_dir}; did you mean ${data_dir}?");
  r = Substitute("${ENV:X}", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("did you mean ${env:...}?"), std::string::npos);
}

TEST_F(SubstituteTest, RejectsUnterminatedReferences) {
  Substituted r = Substitute("${env:X", context_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "\"${\" without a closing \"}\"; expected ${env:NAME}, ${file:/path} or ${data_dir} "
            "(write $${ for a literal ${)");
}

TEST_F(SubstituteTest, KeepsEscapedDollarBrace) {
  Substituted r = Substitute("$${env:X} costs $5", context_);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value, "${env:X} costs $5");
}

}  // namespace
}  // namespace channelhub::config::detail
