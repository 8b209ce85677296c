#include "scan/scan_config.h"

#include "config/config.h"
#include "scan/finding.h"

namespace steward::scan {

void ActionTable::OverlayOnto(ActionTable* base) const {
  if (pii) {
    base->pii = pii;
    // A broader setting in a more specific layer overrides the base's
    // per-entity entries of the same class.
    for (auto it = base->entities.begin(); it != base->entities.end();)
      it = IsSecretType(it->first) ? std::next(it) : base->entities.erase(it);
  }
  if (secrets) {
    base->secrets = secrets;
    for (auto it = base->entities.begin(); it != base->entities.end();)
      it = IsSecretType(it->first) ? base->entities.erase(it) : std::next(it);
  }
  for (const auto& [k, v] : entities) base->entities[k] = v;
}

Action ResolvedActions::For(std::string_view type) const {
  auto it = table_.entities.find(type);
  if (it != table_.entities.end()) return it->second;
  if (IsSecretType(type)) return table_.secrets.value_or(Action::kBlock);
  return table_.pii.value_or(Action::kFlag);
}

Action ResolvedActions::For(const Finding& finding, Action for_type) const {
  if (keep_place_names_ && Rewrites(for_type) && !finding.postal_address &&
      finding.type == "LOCATION") {
    return Action::kFlag;
  }
  return for_type;
}

ActionTable DefaultTable(Direction d) {
  ActionTable t;
  if (d == Direction::kInput) {
    t.pii = Action::kPseudonymize;
    t.secrets = Action::kBlock;
    // Dates and nationalities are rarely identifying alone and models need
    // them to answer; pseudonymizing them breaks most prompts.
    t.entities["DATE_TIME"] = Action::kFlag;
    t.entities["NRP"] = Action::kFlag;
  } else {
    t.pii = Action::kFlag;
    t.secrets = Action::kRedact;
  }
  return t;
}

ResolvedActions Resolve(const ScanSettings& s, Direction d, std::string_view role,
                        std::string_view model, std::string_view upstream,
                        std::string_view endpoint) {
  ActionTable t = DefaultTable(d);
  (d == Direction::kInput ? s.input : s.output).OverlayOnto(&t);
  auto r = s.roles.find(std::string(role));
  if (r != s.roles.end()) (d == Direction::kInput ? r->second.first : r->second.second).OverlayOnto(&t);
  for (const RouteRule& rule : s.routes) {
    if (!rule.model.empty() && !GlobMatch(rule.model, model)) continue;
    if (!rule.upstream.empty() && !GlobMatch(rule.upstream, upstream)) continue;
    if (!rule.endpoint.empty() && rule.endpoint != endpoint) continue;
    (d == Direction::kInput ? rule.input : rule.output).OverlayOnto(&t);
  }
  return ResolvedActions(std::move(t), s.keep_place_names);
}

bool GlobMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {

Result<Action> ActionAt(const std::string& file, const YAML::Node& n) {
  if (!n.IsScalar()) return config::ErrorAt(file, n, "expected an action name");
  auto a = ParseAction(n.Scalar());
  if (!a.ok()) return config::ErrorAt(file, n, a.status().message());
  return *a;
}

Result<ActionTable> ParseTable(const std::string& file, const YAML::Node& n) {
  ActionTable t;
  if (!n || n.IsNull()) return t;
  if (!n.IsMap()) return config::ErrorAt(file, n, "expected a mapping with pii/secrets/entities");
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (key == "pii") {
      STEWARD_ASSIGN_OR_RETURN(t.pii, ActionAt(file, it->second));
    } else if (key == "secrets") {
      STEWARD_ASSIGN_OR_RETURN(t.secrets, ActionAt(file, it->second));
    } else if (key == "entities") {
      if (!it->second.IsMap()) return config::ErrorAt(file, it->second, "`entities` must map TYPE: action");
      for (auto e = it->second.begin(); e != it->second.end(); ++e) {
        std::string type = e->first.as<std::string>();
        if (CanonicalType(type).empty())
          return config::ErrorAt(file, e->first, "unknown entity type `" + type + "`");
        STEWARD_ASSIGN_OR_RETURN(t.entities[type], ActionAt(file, e->second));
      }
    } else {
      return config::ErrorAt(file, it->first,
                             "unknown key `" + key + "` (expected pii, secrets, entities)");
    }
  }
  return t;
}

}  // namespace

Result<ScanSettings> ParseScanSettings(const std::string& file, const YAML::Node& node) {
  ScanSettings s;
  if (!node || node.IsNull()) return s;
  if (!node.IsMap()) return config::ErrorAt(file, node, "`scan` must be a mapping");
  try {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.as<std::string>();
      YAML::Node v = it->second;  // a copy: it->second is a member of a temporary
      if (key == "min_score") {
        STEWARD_ASSIGN_OR_RETURN(s.min_score, config::GetDouble(file, node, "min_score", 0.5));
        if (s.min_score < 0 || s.min_score > 1)
          return config::ErrorAt(file, v, "min_score must be in [0, 1]");
      } else if (key == "names") {
        STEWARD_ASSIGN_OR_RETURN(s.names, config::GetBool(file, node, "names", true));
      } else if (key == "restore") {
        STEWARD_ASSIGN_OR_RETURN(s.restore, config::GetBool(file, node, "restore", true));
      } else if (key == "keep_place_names") {
        STEWARD_ASSIGN_OR_RETURN(s.keep_place_names,
                                 config::GetBool(file, node, "keep_place_names", true));
      } else if (key == "hash_key_file") {
        STEWARD_ASSIGN_OR_RETURN(s.hash_key_file, config::GetString(file, node, "hash_key_file", ""));
      } else if (key == "input") {
        STEWARD_ASSIGN_OR_RETURN(s.input, ParseTable(file, v));
      } else if (key == "output") {
        STEWARD_ASSIGN_OR_RETURN(s.output, ParseTable(file, v));
      } else if (key == "roles") {
        if (!v.IsMap()) return config::ErrorAt(file, v, "`roles` must map role: {input, output}");
        for (auto r = v.begin(); r != v.end(); ++r) {
          auto& [in, out] = s.roles[r->first.as<std::string>()];
          if (!r->second.IsMap()) return config::ErrorAt(file, r->second, "expected {input, output}");
          for (auto k = r->second.begin(); k != r->second.end(); ++k) {
            std::string dir = k->first.as<std::string>();
            if (dir == "input") {
              STEWARD_ASSIGN_OR_RETURN(in, ParseTable(file, k->second));
            } else if (dir == "output") {
              STEWARD_ASSIGN_OR_RETURN(out, ParseTable(file, k->second));
            } else {
              return config::ErrorAt(file, k->first, "unknown key `" + dir + "` (input, output)");
            }
          }
        }
      } else if (key == "routes") {
        if (!v.IsSequence()) return config::ErrorAt(file, v, "`routes` must be a list");
        for (const YAML::Node& r : v) {
          if (!r.IsMap()) return config::ErrorAt(file, r, "a route must be a mapping");
          RouteRule rule;
          for (auto k = r.begin(); k != r.end(); ++k) {
            std::string rk = k->first.as<std::string>();
            if (rk == "match") {
              if (!k->second.IsMap()) return config::ErrorAt(file, k->second, "`match` must be a mapping");
              for (auto m = k->second.begin(); m != k->second.end(); ++m) {
                std::string mk = m->first.as<std::string>();
                if (!m->second.IsScalar()) return config::ErrorAt(file, m->second, "expected a string");
                if (mk == "model") rule.model = m->second.Scalar();
                else if (mk == "upstream") rule.upstream = m->second.Scalar();
                else if (mk == "endpoint") {
                  rule.endpoint = m->second.Scalar();
                  if (rule.endpoint != "chat.completions" && rule.endpoint != "completions" &&
                      rule.endpoint != "embeddings")
                    return config::ErrorAt(file, m->second,
                                           "endpoint must be chat.completions, completions or embeddings");
                } else {
                  return config::ErrorAt(file, m->first, "unknown match key `" + mk + "` (model, upstream, endpoint)");
                }
              }
            } else if (rk == "input") {
              STEWARD_ASSIGN_OR_RETURN(rule.input, ParseTable(file, k->second));
            } else if (rk == "output") {
              STEWARD_ASSIGN_OR_RETURN(rule.output, ParseTable(file, k->second));
            } else {
              return config::ErrorAt(file, k->first, "unknown route key `" + rk + "` (match, input, output)");
            }
          }
          s.routes.push_back(std::move(rule));
        }
      } else {
        return config::ErrorAt(file, it->first, "unknown scan key `" + key + "`");
      }
    }
  } catch (const YAML::Exception& e) {
    return config::ErrorAt(file, node, std::string("scan: ") + e.what());
  }
  return s;
}

}  // namespace steward::scan

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/key_file.h"
#include "common/strings.h"

namespace steward::scan {

Result<std::string> LoadOrCreateHashKey(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      std::string hex = std::string(Trim(ss.str()));
      std::string key;
      if (!HexDecode(hex, &key) || key.size() < 16)
        return InvalidArgument(path + ": hash key must be >= 32 hex digits");
      return key;
    }
  }
  const std::string hex = RandomHex(32);
  auto created = PublishNewFile(path, hex + "\n");
  if (!created.ok()) return created.status().WithContext("cannot create hash key");
  // Lost a race with another process creating it: read theirs.
  if (!*created) return LoadOrCreateHashKey(path);
  std::string key;
  HexDecode(hex, &key);
  return key;
}

}  // namespace steward::scan
