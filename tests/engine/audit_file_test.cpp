// The audit file of noop.record (what the crash-safety test counts): a line torn by a process
// killed mid-write is never read as a key and never joins the next line appended.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"

namespace sendflow::engine {
namespace {

namespace fs = std::filesystem;

using Keys = std::vector<std::string>;

class AuditFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sendflow-audit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "actions.audit").string();
    BuiltinActionOptions options;
    options.audit_file = path_;
    ASSERT_TRUE(registerBuiltinActions(actions_, options).isOk());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeFile(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  std::string readFile() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  core::Status record(const std::string& key) {
    ActionContext context;
    context.idempotency_key = key;
    return actions_.find("noop.record")->handler(nlohmann::json::object(), context).status();
  }

  fs::path dir_;
  std::string path_;
  ActionRegistry actions_;
};

TEST(AuditFileKeysTest, ALastLineWithoutItsNewlineIsNotAKey) {
  EXPECT_EQ(auditFileKeys("6a97ee17a-1:/review#1\n6a97ee17a-2:/review#1\n6a97ee17a-"),
            (Keys{"6a97ee17a-1:/review#1", "6a97ee17a-2:/review#1"}));
  EXPECT_EQ(auditFileKeys("6a97ee17a-"), Keys{});
  EXPECT_EQ(auditFileKeys(""), Keys{});
  EXPECT_EQ(auditFileKeys("a\n\nb\n"), (Keys{"a", "b"}));
}

TEST_F(AuditFileTest, TheLineAfterATornLineStaysALineOfItsOwn) {
  // A process was killed while writing its second line; the next process writes it again.
  writeFile("i-1:/open#1\ni-2:/pu");
  ASSERT_TRUE(record("i-2:/pull#1").isOk());
  ASSERT_TRUE(record("i-3:/close#1").isOk());
  EXPECT_EQ(readFile(), "i-1:/open#1\ni-2:/pull#1\ni-3:/close#1\n");
  EXPECT_EQ(auditFileKeys(readFile()), (Keys{"i-1:/open#1", "i-2:/pull#1", "i-3:/close#1"}));
}

TEST_F(AuditFileTest, AFileThatIsOnlyATornLineStartsAgain) {
  writeFile("i-1:/op");
  ASSERT_TRUE(record("i-1:/open#1").isOk());
  EXPECT_EQ(readFile(), "i-1:/open#1\n");
}

TEST_F(AuditFileTest, AKeyAlreadyInTheFileIsNotWrittenAgainButATornOneIs) {
  writeFile("i-1:/open#1\ni-2:/pull#1");
  ASSERT_TRUE(record("i-1:/open#1").isOk());
  ASSERT_TRUE(record("i-2:/pull#1").isOk());
  EXPECT_EQ(readFile(), "i-1:/open#1\ni-2:/pull#1\n");
}

TEST_F(AuditFileTest, IsReadableByItsOwnerOnly) {
  ASSERT_TRUE(record("i-1:/open#1").isOk());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace sendflow::engine
