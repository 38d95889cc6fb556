// `sendflow validate`, run in-process through the command table.
#include <gtest/gtest.h>

#include <sstream>

#include "server/app/cli.h"
#include "server/app/settings.h"

namespace sendflow::app {
namespace {

struct CommandRun {
  int code;
  std::string out;
  std::string err;
};

CommandRun validate(std::vector<std::string> args,
                    std::map<std::string, std::string> settings = {}) {
  CommandTable table;
  registerDefinitionCommands(table);
  const Settings config = Settings::fromMap(std::move(settings));
  std::ostringstream out, err;
  CommandContext ctx{config, std::move(args), out, err};
  for (const Command& command : table) {
    if (command.name == "validate") {
      const int code = command.run(ctx);
      return {code, out.str(), err.str()};
    }
  }
  ADD_FAILURE() << "no validate command";
  return {-1, "", ""};
}

const std::string kRoot = SENDFLOW_SOURCE_DIR;

TEST(ValidateCommandTest, ShippedWorkflowsAreValid) {
  const CommandRun run = validate({kRoot + "/workflows"});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("three-step.xml: ok"), std::string::npos);
}

TEST(ValidateCommandTest, PrintsOneLinePerProblemAndExitsOne) {
  const std::string fixtures = kRoot + "/tests/fixtures/workflows/";
  const CommandRun run = validate({fixtures + "type-error.xml", fixtures + "unreachable.xml",
                                   kRoot + "/workflows/examples/three-step.xml"});
  EXPECT_EQ(run.code, kExitInvalidInput);
  EXPECT_EQ(run.err, fixtures + "type-error.xml:8:52: cannot add a date to a string\n" + fixtures +
                         "unreachable.xml:4:5: set 'orphan' can never be reached: no step before "
                         "it falls through or jumps to it\n");
  EXPECT_EQ(run.out, kRoot + "/workflows/examples/three-step.xml: ok\n");
}

TEST(ValidateCommandTest, ChecksActionNamesAgainstTheRegistryOrTheOption) {
  const std::string file = kRoot + "/tests/fixtures/workflows/unknown-action.xml";
  EXPECT_EQ(validate({file}).code, kExitInvalidInput);
  EXPECT_EQ(validate({"--no-action-check", file}).code, kExitOk);
  EXPECT_EQ(validate({"--actions", "sample.selekt", file}).code, kExitOk);
}

TEST(ValidateCommandTest, UsageErrorsExitTwo) {
  EXPECT_EQ(validate({}).code, kExitUsage);
  EXPECT_EQ(validate({"--frobnicate", "x.xml"}).code, kExitUsage);
}

TEST(ValidateCommandTest, ABadBankHolidaySettingNamesTheKey) {
  const CommandRun run = validate({kRoot + "/workflows/examples/three-step.xml"},
                                  {{"calendar.bank_holidays", "2026-12-25, Christmas"}});
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_NE(run.err.find("calendar.bank_holidays"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace sendflow::app
