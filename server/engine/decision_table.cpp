// DecisionTable::evaluate (declared in definition.h).
#include <string>
#include <vector>

#include "server/engine/definition.h"

namespace sendflow::engine {
namespace {

std::string describeInputs(const DecisionTable& table, const std::vector<nlohmann::json>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!out.empty()) out += ", ";
    out +=
        (i < table.input_labels.size() ? table.input_labels[i] : "input " + std::to_string(i + 1)) +
        " = " + values[i].dump();
  }
  return out;
}

}  // namespace

core::StatusOr<nlohmann::json> DecisionTable::evaluate(const nlohmann::json& context) const {
  nlohmann::json scope = context.is_object() ? context : nlohmann::json::object();
  std::vector<nlohmann::json> values;
  values.reserve(inputs.size());
  for (const auto& input : inputs) {
    if (!input)
      return core::internalError("decision table '" + id + "' has an input that did not compile");
    SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json value, input->evaluate(context));
    values.push_back(std::move(value));
  }
  auto produce = [&](const DecisionRule& rule) -> core::StatusOr<nlohmann::json> {
    if (rule.outputs.size() != outputs.size()) {
      return core::internalError("decision table '" + id + "': a rule on line " +
                                 std::to_string(rule.where.line) +
                                 " has the wrong number of results");
    }
    if (outputs.size() == 1) return rule.outputs[0]->evaluate(context);
    nlohmann::json object = nlohmann::json::object();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json value, rule.outputs[i]->evaluate(context));
      object[outputs[i]] = std::move(value);
    }
    return object;
  };
  std::vector<const DecisionRule*> matched;
  for (const DecisionRule& rule : rules) {
    bool matches = true;
    for (std::size_t c = 0; c < rule.tests.size() && c < values.size() && matches; ++c) {
      if (!rule.tests[c]) continue;  // "-"
      scope["?"] = values[c];
      SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json result, rule.tests[c]->evaluate(scope));
      matches = result == true;
    }
    if (!matches) continue;
    if (hit_policy == HitPolicy::kFirst) return produce(rule);
    matched.push_back(&rule);
    if (hit_policy == HitPolicy::kUnique && matched.size() > 1) {
      return core::conflict("decision table '" + id + "' (" + where.toString() +
                            ") has the unique hit policy but the rules on lines " +
                            std::to_string(matched[0]->where.line) + " and " +
                            std::to_string(matched[1]->where.line) + " both match " +
                            describeInputs(*this, values));
    }
  }
  if (hit_policy == HitPolicy::kCollect) {
    nlohmann::json list = nlohmann::json::array();
    for (const DecisionRule* rule : matched) {
      SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json value, produce(*rule));
      list.push_back(std::move(value));
    }
    return list;
  }
  if (matched.empty()) {
    return core::notFound("decision table '" + id + "' (" + where.toString() +
                          ") has no rule for " + describeInputs(*this, values));
  }
  return produce(*matched[0]);
}

}  // namespace sendflow::engine
