#include "policy/test_runner.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "policy/explain.h"

namespace steward::policy {

namespace json = boost::json;

namespace {

Result<std::vector<std::string>> Strings(const json::value& v, const std::string& where) {
  if (!v.is_array()) return InvalidArgument(where + " must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return InvalidArgument(where + " must be a list of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

Result<TestCase> ParseCase(const std::string& path, const json::value& v, size_t index) {
  std::string where = path + ": case " + std::to_string(index + 1);
  if (!v.is_object()) return InvalidArgument(where + " must be an object");
  const json::object& o = v.as_object();
  TestCase c;
  c.file = path;
  if (auto it = o.find("name"); it != o.end() && it->value().is_string()) {
    c.name = std::string(it->value().as_string());
    where = path + ": case `" + c.name + "`";
  } else {
    c.name = "case " + std::to_string(index + 1);
  }
  bool has_input = false, has_decision = false;
  for (const auto& [key, value] : o) {
    if (key == "name") {
      if (!value.is_string()) return InvalidArgument(where + ": `name` must be a string");
    } else if (key == "description") {
    } else if (key == "input") {
      auto r = RequestFromJson(value);
      if (!r.ok()) return InvalidArgument(where + ": input: " + r.status().message());
      c.input = std::move(*r);
      has_input = true;
    } else if (key == "want_decision") {
      if (!value.is_string() || (value.as_string() != "permit" && value.as_string() != "deny" &&
                                 value.as_string() != "review")) {
        return InvalidArgument(where + ": `want_decision` must be permit, deny or review");
      }
      c.want_decision = std::string(value.as_string());
      has_decision = true;
    } else if (key == "want_reasons") {
      STEWARD_ASSIGN_OR_RETURN(c.want_reasons, Strings(value, where + ": `want_reasons`"));
      c.check_reasons = true;
    } else if (key == "want_obligations") {
      STEWARD_ASSIGN_OR_RETURN(c.want_obligations, Strings(value, where + ": `want_obligations`"));
      c.check_obligations = true;
    } else if (key == "want_errors") {
      if (!value.is_int64() || value.as_int64() < 0) {
        return InvalidArgument(where + ": `want_errors` must be a non-negative integer");
      }
      c.want_errors = static_cast<int>(value.as_int64());
    } else {
      return InvalidArgument(where + ": unknown key `" + std::string(key) +
                             "` (known: name, description, input, want_decision, want_reasons, "
                             "want_obligations, want_errors)");
    }
  }
  if (!has_input) return InvalidArgument(where + ": missing `input`");
  if (!has_decision) return InvalidArgument(where + ": missing `want_decision`");
  return c;
}

std::string ListText(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// "-x" for wanted but missing, "+y" for present but not wanted.
std::string SetDiff(std::vector<std::string> want, std::vector<std::string> got) {
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  std::string out;
  for (const auto& m : missing) out += "\n      - " + m + "   (wanted, missing)";
  for (const auto& e : extra) out += "\n      + " + e + "   (got, not wanted)";
  return out;
}

}  // namespace

Result<std::vector<TestCase>> ParseTestFile(const std::string& path, const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return InvalidArgument(path + ": not valid JSON: " + ec.message());
  std::vector<TestCase> out;
  if (v.is_object() && v.as_object().contains("cases")) {
    const json::object& o = v.as_object();
    for (const auto& [key, value] : o) {
      if (key != "cases" && key != "description") {
        return InvalidArgument(path + ": unknown key `" + std::string(key) +
                               "` (a test file is a case or {\"cases\": [...]})");
      }
    }
    const json::value& cases = o.at("cases");
    if (!cases.is_array()) return InvalidArgument(path + ": `cases` must be a list");
    for (size_t i = 0; i < cases.as_array().size(); ++i) {
      STEWARD_ASSIGN_OR_RETURN(TestCase c, ParseCase(path, cases.as_array()[i], i));
      out.push_back(std::move(c));
    }
  } else {
    STEWARD_ASSIGN_OR_RETURN(TestCase c, ParseCase(path, v, 0));
    out.push_back(std::move(c));
  }
  if (out.empty()) return InvalidArgument(path + ": no test cases");
  return out;
}

Result<std::vector<std::string>> FindTestFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return InvalidArgument(dir + " is not a directory");
  std::vector<std::string> files;
  for (const std::string& d : {dir, dir + "/tests"}) {
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& entry : fs::directory_iterator(d, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        files.push_back(entry.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    return InvalidArgument("no test files (*.json) in " + dir + " or " + dir + "/tests");
  return files;
}

TestReport RunTests(const Bundle& bundle, const std::vector<TestCase>& cases) {
  TestReport report;
  for (const auto& c : cases) {
    Decision d = bundle.Authorize(c.input);
    std::string diff;
    std::string got_decision = VerdictName(d.verdict);
    if (got_decision != c.want_decision) {
      diff += "\n    decision: want " + c.want_decision + ", got " + got_decision;
      if (!d.message.empty()) diff += " (" + d.message + ")";
    }
    if (c.check_reasons) {
      std::string r = SetDiff(c.want_reasons, d.reasons);
      if (!r.empty()) {
        diff +=
            "\n    reasons: want " + ListText(c.want_reasons) + ", got " + ListText(d.reasons) + r;
      }
    }
    std::vector<std::string> obligations = d.obligations.Render();
    if (c.check_obligations) {
      std::string o = SetDiff(c.want_obligations, obligations);
      if (!o.empty()) {
        diff += "\n    obligations: want " + ListText(c.want_obligations) + ", got " +
                ListText(obligations) + o;
      }
    }
    if (c.want_errors >= 0 && static_cast<int>(d.errors.size()) != c.want_errors) {
      diff += "\n    errors: want " + std::to_string(c.want_errors) + ", got " +
              std::to_string(d.errors.size());
      for (const auto& e : d.errors) diff += "\n      " + e;
    }
    if (diff.empty()) {
      ++report.passed;
      report.text += "PASS " + c.name + " (" + c.file + ")\n";
    } else {
      ++report.failed;
      report.text += "FAIL " + c.name + " (" + c.file + ")" + diff + "\n";
      if (!d.errors.empty() && c.want_errors < 0) {
        for (const auto& e : d.errors) report.text += "    rule error: " + e + "\n";
      }
    }
  }
  report.text +=
      std::to_string(report.passed) + " passed, " + std::to_string(report.failed) + " failed\n";
  return report;
}

}  // namespace steward::policy
