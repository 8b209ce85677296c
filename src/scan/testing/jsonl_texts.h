// The "text" field of every line of a JSON-lines file (the evaluation and
// Presidio sets the scan tests replay); lines that are not such an object
// are skipped.
#pragma once

#include <boost/json.hpp>
#include <fstream>
#include <string>
#include <vector>

namespace steward::scan::testing {

inline std::vector<std::string> JsonlTexts(const std::string& path) {
  std::vector<std::string> texts;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    if (const auto* t = v.as_object().if_contains("text"); t && t->is_string())
      texts.emplace_back(t->as_string().c_str(), t->as_string().size());
  }
  return texts;
}

}  // namespace steward::scan::testing
