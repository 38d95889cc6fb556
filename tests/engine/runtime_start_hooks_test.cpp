// Runtime::start with StartOptions: a `before` hook that answers ends the start with nothing
// written, an `after` hook commits with the start (and its failure rolls the start back), the
// audit lands in the instance.started row; Runtime::definition(id, version).

#include <gtest/gtest.h>

#include "tests/engine/runtime_test_support.h"

namespace sendflow::engine::testing {
namespace {

class RuntimeStartHooksTest : public RuntimeFixture {
 protected:
  void SetUp() override {
    RuntimeFixture::SetUp();
    deploy(workflow("review", {task("check")}));
  }
  long long instances() {
    long long n = 0;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(n, tx.countInstances({}));
                      return core::Status::ok();
                    })
                    .isOk());
    return n;
  }
};

TEST_F(RuntimeStartHooksTest, AfterCommitsWithTheStartAndAuditIsRecorded) {
  StartOptions options;
  options.audit = {{"origin", {{"channel", "api"}}}};
  std::string seen_in_after;
  options.after = [&](store::Transaction& tx, const StartResult& result) -> core::Status {
    seen_in_after = result.instance_id;
    return tx.setStateValue("started:" + result.instance_id, "yes");
  };
  auto started = runtime_->start("review", json::object(), "", "qa-001", options);
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  EXPECT_TRUE(started->created);
  EXPECT_EQ(seen_in_after, started->instance_id);
  EXPECT_EQ(openTasks(started->instance_id).size(), 1u);
  const auto rows = history(started->instance_id);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().event, "instance.started");
  EXPECT_EQ(json::parse(rows.front().detail_json)["origin"]["channel"], "api");
  EXPECT_EQ(json::parse(rows.front().detail_json)["workflow"], "review");
}

TEST_F(RuntimeStartHooksTest, AFailingAfterRollsTheStartBack) {
  StartOptions options;
  options.after = [](store::Transaction&, const StartResult&) {
    return core::alreadyExists("key taken");
  };
  auto started = runtime_->start("review", json::object(), "", "qa-001", options);
  EXPECT_EQ(started.status().code(), core::StatusCode::kAlreadyExists);
  EXPECT_EQ(instances(), 0);
  EXPECT_TRUE(openTasks().empty());
}

TEST_F(RuntimeStartHooksTest, BeforeMayAnswerInsteadOfStarting) {
  StartOptions options;
  bool after_ran = false;
  options.before = [](store::Transaction&) -> core::StatusOr<std::optional<StartResult>> {
    return std::optional<StartResult>(StartResult{"earlier-instance", false});
  };
  options.after = [&](store::Transaction&, const StartResult&) {
    after_ran = true;
    return core::Status::ok();
  };
  auto started = runtime_->start("review", json::object(), "", "qa-001", options);
  ASSERT_TRUE(started.isOk());
  EXPECT_EQ(started->instance_id, "earlier-instance");
  EXPECT_FALSE(started->created);
  EXPECT_FALSE(after_ran);
  EXPECT_EQ(instances(), 0);

  options.before = [](store::Transaction&) -> core::StatusOr<std::optional<StartResult>> {
    return core::conflict("used with another body");
  };
  EXPECT_EQ(runtime_->start("review", json::object(), "", "qa-001", options).status().code(),
            core::StatusCode::kConflict);
  options.before = [](store::Transaction&) -> core::StatusOr<std::optional<StartResult>> {
    return std::optional<StartResult>();
  };
  ASSERT_TRUE(runtime_->start("review", json::object(), "", "qa-001", options).isOk());
  EXPECT_EQ(instances(), 1);
}

TEST_F(RuntimeStartHooksTest, DefinitionFindsAStoredVersion) {
  auto found = runtime_->definition("review", 1);
  ASSERT_TRUE(found.isOk()) << found.status().toString();
  EXPECT_EQ((*found)->id, "review");
  EXPECT_EQ(runtime_->definition("review", 7).status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->definition("nothing", 1).status().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sendflow::engine::testing
