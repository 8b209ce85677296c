// `steward scan [--json] [FILE]` and `steward redact [--mode ...] [FILE]`.
#include <boost/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/command.h"
#include "common/strings.h"
#include "config/config.h"
#include "injection/screen.h"
#include "scan/scan_config.h"
#include "scan/scanner.h"
#include "scan/transform.h"

namespace steward::cli {
namespace {

Result<std::string> ReadInput(const std::string& file) {
  if (file.empty() || file == "-") {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return s;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Valid UTF-8 for JSON output: invalid bytes become U+FFFD (offsets in the
// report still refer to the raw input bytes).
std::string SanitizeUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len && i + len <= s.size() && IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

struct ScanCliSettings {
  scan::ScanSettings settings;
  std::string data_dir = "./var";
};

Result<ScanCliSettings> LoadSettings(const GlobalOptions& g) {
  ScanCliSettings s;
  STEWARD_ASSIGN_OR_RETURN(config::Config c, config::LoadConfigForCli(g.config_path));
  s.data_dir = c.data_dir;
  STEWARD_ASSIGN_OR_RETURN(s.settings, scan::ParseScanSettings(c.path, c.root["scan"]));
  return s;
}

int RunScan(const GlobalOptions& g, const std::string& file, bool json, double min_score) {
  auto settings = LoadSettings(g);
  if (!settings.ok()) return Fail(settings.status());
  auto text = ReadInput(file);
  if (!text.ok()) return Fail(text.status());
  scan::ScanOptions opts;
  opts.min_score = min_score >= 0 ? min_score : settings->settings.min_score;
  opts.names = settings->settings.names;
  std::vector<scan::Finding> findings = scan::Scanner::Default().Scan(*text, opts);
  injection::InjectionVerdict verdict = injection::ScreenText(*text);
  if (json) {
    // Built by hand so scores print as plain decimals (0.85, not 8.5E-1);
    // strings go through Boost.JSON for escaping.
    auto num = [](double v) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.3f", v);
      std::string s(buf);
      while (s.size() > 1 && s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
      return s;
    };
    std::string out = "{\"findings\":[";
    for (size_t i = 0; i < findings.size(); ++i) {
      const auto& f = findings[i];
      if (i) out += ",";
      out += "{\"type\":" + boost::json::serialize(boost::json::string(f.type)) +
             ",\"start\":" + std::to_string(f.start) + ",\"end\":" + std::to_string(f.end) +
             ",\"score\":" + num(f.score) + ",\"text\":" +
             boost::json::serialize(boost::json::string(
                 SanitizeUtf8(std::string_view(*text).substr(f.start, f.end - f.start)))) +
             "}";
    }
    out += "],\"injection\":{\"score\":" + num(std::clamp(verdict.score, 0.0, 1.0)) +
           ",\"label\":" + boost::json::serialize(boost::json::string(verdict.label)) + "}}";
    std::cout << out << "\n";
  } else {
    for (const auto& f : findings) {
      std::printf("%-18s %8zu %8zu  %.2f  %s\n", std::string(f.type).c_str(), f.start, f.end,
                  f.score,
                  SanitizeUtf8(std::string_view(*text).substr(f.start, f.end - f.start)).c_str());
    }
    std::printf("injection: %s (%.2f)\n", verdict.label.c_str(), verdict.score);
  }
  return kExitOk;
}

int RunRedact(const GlobalOptions& g, const std::string& file, const std::string& mode_name) {
  auto settings = LoadSettings(g);
  if (!settings.ok()) return Fail(settings.status());
  auto mode = scan::ParseAction(mode_name);
  if (!mode.ok() || !scan::Rewrites(*mode))
    return Fail("--mode must be mask, redact, hash or pseudonymize (got `" + mode_name + "`)");
  auto text = ReadInput(file);
  if (!text.ok()) return Fail(text.status());
  scan::ScanOptions opts;
  opts.min_score = settings->settings.min_score;
  opts.names = settings->settings.names;
  std::vector<scan::Finding> findings = scan::Scanner::Default().Scan(*text, opts);
  std::string key;
  if (*mode == scan::Action::kHash) {
    std::string path = settings->settings.hash_key_file;
    if (path.empty()) {
      config::Config c;
      c.data_dir = settings->data_dir;
      Status st = config::EnsureDataDir(c);
      if (!st.ok()) return Fail(st);
      path = settings->data_dir + "/scan_hash.key";
    }
    auto k = scan::LoadOrCreateHashKey(path);
    if (!k.ok()) return Fail(k.status());
    key = *k;
  }
  scan::Vault vault;
  scan::TransformContext ctx{&vault, key, *text};
  scan::Action a = *mode;
  std::string out = scan::ApplyActions(
      *text, findings, [a](const scan::Finding&) { return a; }, ctx);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

void AddScanCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto* scan = app.add_subcommand("scan", "find PII and secrets in FILE (or stdin); exit 0");
  auto* s_file = new std::string;
  auto* s_json = new bool(false);
  auto* s_min = new double(-1);
  scan->add_flag("--json", *s_json, "print one JSON object {findings, injection}");
  scan->add_option("--min-score", *s_min, "drop findings scoring below this (default: config, 0.5)");
  scan->add_option("FILE", *s_file, "input file (default: stdin)");
  scan->callback([=, &g] { *exit_code = RunScan(g, *s_file, *s_json, *s_min); });

  auto* redact = app.add_subcommand("redact", "print FILE (or stdin) with PII and secrets replaced");
  auto* r_file = new std::string;
  auto* r_mode = new std::string("redact");
  redact->add_option("--mode", *r_mode, "mask | redact (default: <TYPE>) | hash | pseudonymize");
  redact->add_option("FILE", *r_file, "input file (default: stdin)");
  redact->callback([=, &g] { *exit_code = RunRedact(g, *r_file, *r_mode); });
}

}  // namespace

STEWARD_REGISTER_COMMANDS(AddScanCommands);

}  // namespace steward::cli
