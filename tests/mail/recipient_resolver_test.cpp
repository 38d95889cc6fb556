// Recipients resolved over the users the store knows.
#include "server/mail/recipient_resolver.h"

#include <gtest/gtest.h>

#include "server/store/sqlite_store.h"

namespace sendflow::mail {
namespace {

class RecipientResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    addUser("u-2", "priya@council.example", R"(["manager", "moderator"])");
    addUser("u-1", "sam@council.example", R"(["manager"])");
    addUser("u-3", "", R"(["lead"])");
    addUser("u-4", "jo@council.example", R"(["caseworker"])");
  }
  void addUser(const std::string& id, const std::string& email, const std::string& roles) {
    store::UserRecord u;
    u.id = id;
    u.name = id;
    u.email = email;
    u.roles_json = roles;
    u.source = "directory";
    ASSERT_TRUE(store_->transact([&](store::Transaction& tx) { return tx.upsertUser(u); }).isOk());
  }
  std::unique_ptr<store::Store> store_;
};

TEST_F(RecipientResolverTest, ARoleIsEveryUserWithItWhoHasAnAddress) {
  auto resolve = userDirectoryResolver(*store_);
  auto managers = resolve("role:manager");
  ASSERT_TRUE(managers.isOk()) << managers.status().toString();
  EXPECT_EQ(*managers, (std::vector<std::string>{"sam@council.example", "priya@council.example"}));
  EXPECT_EQ(*resolve("role:moderator"), std::vector<std::string>{"priya@council.example"});
}

TEST_F(RecipientResolverTest, ARoleWithNobodyReachableIsAPermanentFailure) {
  auto resolve = userDirectoryResolver(*store_);
  for (const std::string role : {"role:lead", "role:panel-chair"}) {
    auto none = resolve(role);
    ASSERT_FALSE(none.isOk());
    EXPECT_EQ(none.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(none.status().message(), role + ": no user with this role has an email address");
  }
}

TEST_F(RecipientResolverTest, AUserIdIsThatUsersAddress) {
  auto resolve = userDirectoryResolver(*store_);
  EXPECT_EQ(*resolve("u-4"), std::vector<std::string>{"jo@council.example"});
  EXPECT_EQ(resolve("u-99").status().code(), core::StatusCode::kNotFound);
  auto no_address = resolve("u-3");
  EXPECT_EQ(no_address.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(no_address.status().message().find("u-3: the user has no valid email address"),
            std::string::npos);
}

TEST_F(RecipientResolverTest, AnAddressIsItself) {
  auto resolve = userDirectoryResolver(*store_);
  EXPECT_EQ(*resolve("outside@school.example"), std::vector<std::string>{"outside@school.example"});
  EXPECT_EQ(*resolveAddressOnly("outside@school.example"),
            std::vector<std::string>{"outside@school.example"});
  EXPECT_EQ(resolveAddressOnly("role:manager").status().code(), core::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sendflow::mail
