#include "server/engine/definition.h"

namespace sendflow::engine {
namespace {

const Step* findIn(const Block& block, const std::string& id) {
  for (const Step& step : block.steps) {
    if (step.id == id) return &step;
    for (const Block& branch : step.branches_blocks) {
      if (const Step* found = findIn(branch, id)) return found;
    }
    if (const Step* found = findIn(step.body, id)) return found;
  }
  return nullptr;
}

}  // namespace

const char* stepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kTask: return "task";
    case StepKind::kApproval: return "approval";
    case StepKind::kAction: return "action";
    case StepKind::kSet: return "set";
    case StepKind::kDecision: return "decision";
    case StepKind::kDecisionTable: return "decision-table";
    case StepKind::kParallel: return "parallel";
    case StepKind::kForEach: return "foreach";
    case StepKind::kTimer: return "timer";
    case StepKind::kSubWorkflow: return "subworkflow";
    case StepKind::kEnd: return "end";
  }
  return "unknown";
}

const Step* Definition::findStep(const std::string& id) const { return findIn(body, id); }

}  // namespace sendflow::engine
