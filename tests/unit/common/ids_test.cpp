#include "hub/common/ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace channelhub {
namespace {

TEST(IdsTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(IdsTest, ShopifyWebhookHmacVector) {
  // protocols.md S1 [verified].
  const std::string body =
      R"({"id":1234567890,"email":"customer@example.com","total_price":"123.45"})";
  EXPECT_EQ(HmacSha256Base64("test-webhook-secret", body),
            "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=");
  EXPECT_EQ(HmacSha256Hex("test-webhook-secret", body),
            "40dc8e6d394a6ccc76a8394f17f64e65c06a8393a03e0fb6a24cb7ce575cd06c");
  EXPECT_EQ(HmacSha256("test-webhook-secret", body).size(), 32u);
}

TEST(IdsTest, HmacRfc4231Case2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(IdsTest, HmacOfEmptyInputs) {
  // protocols.md S2 [derived]: secret "hush", body "{}".
  EXPECT_EQ(HmacSha256Base64("hush", "{}"), "UFwgrGBPZilFtmKh8TqcovA78LGYb1BdWu9I4Q2oyRg=");
  EXPECT_EQ(HmacSha256Hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(IdsTest, Base64Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    Result<std::string> decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
  const std::string bytes("\x00\xff\xfe\x80\x7f", 5);
  EXPECT_EQ(Base64Encode(bytes), "AP/+gH8=");
  EXPECT_EQ(*Base64Decode("AP/+gH8="), bytes);
}

TEST(IdsTest, Base64DecodeAcceptsMissingPaddingOnly) {
  EXPECT_EQ(*Base64Decode("Zg"), "f");
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");
  // A WeCom EncodingAESKey is 43 characters: Base64 of 32 bytes without its '='.
  EXPECT_EQ(Base64Decode("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")->size(), 32u);
}

TEST(IdsTest, Base64DecodeRejectsJunk) {
  EXPECT_EQ(Base64Decode("Zm9v!").status().message(),
            "invalid base64: unexpected character at position 4");
  EXPECT_EQ(Base64Decode("Zm 9v").status().message(),
            "invalid base64: unexpected character at position 2");
  EXPECT_EQ(Base64Decode("Z").status().message(), "invalid base64: truncated (length 1)");
  EXPECT_EQ(Base64Decode("Zg=").status().message(),
            "invalid base64: padded text must have a length that is a multiple of 4");
  EXPECT_EQ(Base64Decode("Z===").status().message(),
            "invalid base64: '=' before the end at position 1");
  EXPECT_EQ(Base64Decode("Zg==Zg==").status().message(),
            "invalid base64: '=' before the end at position 2");
}

TEST(IdsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(IdsTest, RandomIdsAreVersion4Uuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = NewRandomId();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[18], '-');
    EXPECT_EQ(id[23], '-');
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace channelhub
