#include "server/core/status.h"

#include <gtest/gtest.h>

namespace sendflow::core {
namespace {

StatusOr<int> half(int n) {
  if (n % 2 != 0) return invalidArgument("n: " + std::to_string(n) + " is odd");
  return n / 2;
}

StatusOr<int> quarter(int n) {
  SENDFLOW_ASSIGN_OR_RETURN(int h, half(n));
  return half(h);
}

TEST(StatusTest, DefaultIsOk) {
  EXPECT_TRUE(Status().isOk());
  EXPECT_EQ(Status().toString(), "ok");
}

TEST(StatusTest, ToStringNamesTheCodeAndMessage) {
  EXPECT_EQ(notFound("workflow 'x'").toString(), "not found: workflow 'x'");
}

TEST(StatusTest, WithContextPrefixesTheMessageAndKeepsTheCode) {
  const Status s = conflict("already decided").withContext("task 7");
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.message(), "task 7: already decided");
}

TEST(StatusOrTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  const auto odd = quarter(6);
  ASSERT_FALSE(odd.isOk());
  EXPECT_EQ(odd.status().message(), "n: 3 is odd");
}

}  // namespace
}  // namespace sendflow::core
