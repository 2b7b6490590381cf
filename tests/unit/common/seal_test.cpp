#include "hub/common/seal.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace channelhub::seal {
namespace {

std::shared_ptr<const Keyring> Ring(const std::string& current, std::vector<std::string> previous = {}) {
  auto r = Keyring::Create(current, std::move(previous));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : nullptr;
}

const std::string kKeyA(32, 'a');
const std::string kKeyB(32, 'b');

TEST(SealTest, RoundTripsAndHidesThePlaintext) {
  auto ring = Ring(kKeyA);
  const std::string plain = R"({"mobile":"+8613800138000","email":"wang.fang@example.cn"})";
  const std::string sealed = ring->Seal(plain, "journal.inbox.body");
  EXPECT_TRUE(IsSealed(sealed));
  EXPECT_EQ(sealed.size(), plain.size() + kOverhead);
  EXPECT_EQ(sealed.find("13800138000"), std::string::npos);
  EXPECT_EQ(sealed.find("example.cn"), std::string::npos);
  EXPECT_EQ(SealedKeyId(sealed), ring->current_id());
  auto opened = ring->Unseal(sealed, "journal.inbox.body");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
  // Empty values and binary values round-trip too.
  EXPECT_EQ(*ring->Unseal(ring->Seal("", "x"), "x"), "");
  const std::string binary("\x00\x01Z\xff", 4);
  EXPECT_EQ(*ring->Unseal(ring->Seal(binary, "x"), "x"), binary);
}

TEST(SealTest, EverySealIsDifferent) {
  auto ring = Ring(kKeyA);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(ring->Seal("same", "a"));
  EXPECT_EQ(seen.size(), 100u) << "a fresh nonce each time: equal values are not recognisable";
}

TEST(SealTest, TamperingIsDetected) {
  auto ring = Ring(kKeyA);
  const std::string sealed = ring->Seal("secret payload", "journal.events.payload");
  for (std::size_t i = 3; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = ring->Unseal(bad, "journal.events.payload");
    ASSERT_FALSE(r.ok()) << "byte " << i;
    // A changed key id names another key; any other change fails authentication.
    EXPECT_TRUE(r.status().code() == StatusCode::kCorruption || r.status().code() == StatusCode::kNotFound) << i;
  }
  auto truncated = ring->Unseal(sealed.substr(0, sealed.size() - 1), "journal.events.payload");
  EXPECT_FALSE(truncated.ok());
}

TEST(SealTest, AValueDoesNotOpenInAnotherPlace) {
  auto ring = Ring(kKeyA);
  const std::string sealed = ring->Seal("reason text", "journal.dead_letters.reason");
  auto r = ring->Unseal(sealed, "journal.dead_letters.payload");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("journal.dead_letters.payload"), std::string::npos) << r.status().message();
}

TEST(SealTest, AnUnknownKeyIsNamedNeverGarbage) {
  auto a = Ring(kKeyA);
  auto b = Ring(kKeyB);
  const std::string sealed = a->Seal("hello", "t");
  auto r = b->Unseal(sealed, "t");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(KeyIdText(a->current_id())), std::string::npos) << r.status().message();
  // Without any keyring the same.
  auto none = UnsealOrPass(nullptr, sealed, "t");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find(KeyIdText(a->current_id())), std::string::npos);
  EXPECT_NE(none.status().message().find("no data_protection key"), std::string::npos);
}

TEST(SealTest, PlaintextPassesThrough) {
  auto ring = Ring(kKeyA);
  for (const std::string& plain : {std::string(R"({"a":1})"), std::string("<xml/>"), std::string(""),
                                  std::string("\x01Z\x78\x9c", 4) /* a deflated golden record */}) {
    EXPECT_FALSE(IsSealed(plain));
    EXPECT_EQ(*ring->Unseal(plain, "t"), plain);
    EXPECT_EQ(*UnsealOrPass(nullptr, plain, "t"), plain);
  }
  EXPECT_EQ(SealOrPass(nullptr, "as is", "t"), "as is");
}

TEST(SealTest, RotationOpensOldValuesAndSealsWithTheNewKey) {
  auto old_ring = Ring(kKeyA);
  const std::string old_value = old_ring->Seal("old row", "t");
  auto rotated = Ring(kKeyB, {kKeyA});
  EXPECT_EQ(*rotated->Unseal(old_value, "t"), "old row");
  const std::string new_value = rotated->Seal("new row", "t");
  EXPECT_EQ(SealedKeyId(new_value), Ring(kKeyB)->current_id());
  EXPECT_EQ(rotated->ids().size(), 2u);
  EXPECT_TRUE(rotated->Has(old_ring->current_id()));
  // Once the old key is gone, its rows no longer open (rekey first).
  auto after = Ring(kKeyB);
  EXPECT_FALSE(after->Unseal(old_value, "t").ok());
  EXPECT_EQ(*after->Unseal(new_value, "t"), "new row");
}

TEST(SealTest, KeyringRefusesBadKeys) {
  EXPECT_EQ(Keyring::Create(std::string(31, 'a')).status().code(), StatusCode::kInvalidArgument);
  auto twice = Keyring::Create(kKeyA, {kKeyA});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("listed twice"), std::string::npos);
}

TEST(SealTest, ParsesHexKeyFiles) {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1F";
  auto k = ParseKey(hex + "\n");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  ASSERT_EQ(k->size(), 32u);
  EXPECT_EQ((*k)[1], '\x01');
  EXPECT_EQ(static_cast<unsigned char>((*k)[31]), 0x1f);
  auto short_key = ParseKey("abcd");
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.status().message().find("openssl rand -hex 32"), std::string::npos);
  auto not_hex = ParseKey(std::string(63, 'a') + "g");
  ASSERT_FALSE(not_hex.ok());
  EXPECT_NE(not_hex.status().message().find("character 64"), std::string::npos) << not_hex.status().message();
  EXPECT_EQ(not_hex.status().message().find("aaaa"), std::string::npos) << "the key is never quoted";
}

TEST(SealTest, BlindIndexIsKeyedAndDeterministic) {
  const std::string k1(32, '1'), k2(32, '2');
  EXPECT_EQ(BlindIndex(k1, "mobile", "+8613800138000"), BlindIndex(k1, "mobile", "+8613800138000"));
  EXPECT_NE(BlindIndex(k1, "mobile", "+8613800138000"), BlindIndex(k2, "mobile", "+8613800138000"));
  EXPECT_NE(BlindIndex(k1, "mobile", "x"), BlindIndex(k1, "email", "x")) << "kinds are separate domains";
  EXPECT_EQ(BlindIndex(k1, "mobile", "x").size(), 32u);
  EXPECT_EQ(BlindIndex(k1, "mobile", "+8613800138000").find("138"), std::string::npos);
}

TEST(SealTest, KeyIdsAreShortHex) {
  auto ring = Ring(kKeyA);
  const std::string id = KeyIdText(ring->current_id());
  EXPECT_EQ(id.size(), 8u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace channelhub::seal
