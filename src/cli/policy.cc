// `steward policy check FILE...` · `policy test DIR` · `policy eval --input REQ.json`
// (SPEC): lint a bundle, run policy tests, explain one decision.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/command.h"
#include "common/json_text.h"
#include "config/config.h"
#include "policy/authorizer.h"
#include "policy/default_policy.h"
#include "policy/explain.h"
#include "policy/policy_config.h"
#include "policy/request.h"
#include "policy/test_runner.h"

namespace steward::cli {
namespace {

using policy::Bundle;

// The bundle `eval` decides with: --policy paths, else the config's
// `policy:` section, else the built-in default.
Result<std::shared_ptr<const Bundle>> ResolveBundle(const std::vector<std::string>& paths,
                                                    const GlobalOptions& globals,
                                                    policy::PolicyConfig* pc) {
  auto cfg = config::LoadConfigForCli(globals.config_path);
  if (!cfg.ok()) return cfg.status();
  STEWARD_ASSIGN_OR_RETURN(*pc, policy::ParsePolicyConfig(cfg->path, cfg->root));
  if (!paths.empty()) return policy::LoadBundle(paths);
  if (pc->configured) return policy::LoadBundle(pc->paths);
  return policy::DefaultBundle();
}

int RunCheck(const std::vector<std::string>& paths) {
  auto sources = policy::ReadPolicySources(paths);
  if (!sources.ok()) return Fail(sources.status());
  size_t files = sources->size();
  auto bundle = Bundle::Compile(std::move(*sources));
  if (!bundle.ok()) {
    std::cout << bundle.status().message() << "\n";
    size_t n =
        std::count(bundle.status().message().begin(), bundle.status().message().end(), '\n') + 1;
    std::cerr << "steward: policy check failed: " << n << " error" << (n == 1 ? "" : "s") << "\n";
    return kExitCheckFailed;
  }
  std::cout << "ok: " << (*bundle)->rules().size() << " rules in " << files << " file"
            << (files == 1 ? "" : "s") << ", bundle " << (*bundle)->hash() << "\n";
  return kExitOk;
}

int RunTest(const std::string& dir) {
  auto bundle = policy::LoadBundle({dir});
  if (!bundle.ok())
    return Fail("policy bundle in " + dir + " does not load:\n" + bundle.status().message());
  auto files = policy::FindTestFiles(dir);
  if (!files.ok()) return Fail(files.status());
  std::vector<policy::TestCase> cases;
  for (const auto& f : *files) {
    std::ifstream in(f, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Fail("cannot read " + f);
    auto parsed = policy::ParseTestFile(f, text);
    if (!parsed.ok()) return Fail(parsed.status());
    for (auto& c : *parsed) cases.push_back(std::move(c));
  }
  policy::TestReport report = policy::RunTests(**bundle, cases);
  std::cout << report.text;
  return report.failed == 0 ? kExitOk : kExitCheckFailed;
}

int RunEval(const std::string& input, const std::vector<std::string>& paths, bool as_json,
            const GlobalOptions& globals) {
  std::string text;
  if (input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(input, std::ios::binary);
    if (!in) return Fail("cannot read request file " + input);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto request = policy::RequestFromJsonText(text);
  if (!request.ok()) return Fail(input + ": " + request.status().message());
  policy::PolicyConfig pc;
  auto bundle = ResolveBundle(paths, globals, &pc);
  if (!bundle.ok()) return Fail("policy bundle does not load:\n" + bundle.status().message());
  if (!request->Has(policy::Attr::kContextDeploymentCommercial)) {
    request->SetBool(policy::Attr::kContextDeploymentCommercial, pc.deployment_commercial);
  }
  policy::Decision d = (*bundle)->Authorize(*request);
  if (as_json) {
    std::cout << JsonText(policy::DecisionToJson(d)) << "\n";
  } else {
    std::cout << policy::ExplainText(d, **bundle);
  }
  return kExitOk;
}

void AddPolicyCommands(CLI::App& app, GlobalOptions& globals, int* exit_code) {
  CLI::App* group = app.add_subcommand("policy", "policy as code: check, test, explain");
  group->require_subcommand(1);

  auto* check = group->add_subcommand(
      "check", "parse and type-check policy files (exit 1 with file:line:col errors)");
  auto check_paths = std::make_shared<std::vector<std::string>>();
  check->add_option("FILE", *check_paths, "policy file or directory of *.policy files")->required();
  check->callback([check_paths, exit_code] { *exit_code = RunCheck(*check_paths); });

  auto* test = group->add_subcommand(
      "test", "run the test cases (*.json in DIR and DIR/tests) against DIR's *.policy bundle");
  auto test_dir = std::make_shared<std::string>();
  test->add_option("DIR", *test_dir, "directory with *.policy files and test cases")->required();
  test->callback([test_dir, exit_code] { *exit_code = RunTest(*test_dir); });

  auto* eval = group->add_subcommand("eval", "decide one request (JSON) and explain the decision");
  auto eval_input = std::make_shared<std::string>();
  auto eval_paths = std::make_shared<std::vector<std::string>>();
  auto eval_json = std::make_shared<bool>(false);
  eval->add_option("--input", *eval_input, "request JSON file (- for stdin)")->required();
  eval->add_option("--policy", *eval_paths,
                   "policy file or directory (default: the config's policy, else built-in)");
  eval->add_flag("--json", *eval_json, "print the decision as JSON");
  eval->callback([eval_input, eval_paths, eval_json, &globals, exit_code] {
    *exit_code = RunEval(*eval_input, *eval_paths, *eval_json, globals);
  });
}

}  // namespace

STEWARD_REGISTER_COMMANDS(AddPolicyCommands);

}  // namespace steward::cli
