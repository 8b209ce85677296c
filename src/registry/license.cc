#include "registry/license.h"

#include <map>

#include "common/strings.h"

namespace steward::registry {
namespace {

struct KnownLicense {
  const char* id;
  bool spdx;
  bool non_commercial;
};

// Keys are lower-case aliases: Hugging Face's license tags, SPDX ids and
// common spellings from model cards and GGUF general.license.
const std::map<std::string, KnownLicense>& Aliases() {
  static const auto* aliases = new std::map<std::string, KnownLicense>{
      {"apache-2.0", {"Apache-2.0", true, false}},
      {"apache 2.0", {"Apache-2.0", true, false}},
      {"apache license 2.0", {"Apache-2.0", true, false}},
      {"apache license, version 2.0", {"Apache-2.0", true, false}},
      {"apache2", {"Apache-2.0", true, false}},
      {"mit", {"MIT", true, false}},
      {"mit license", {"MIT", true, false}},
      {"bsd-2-clause", {"BSD-2-Clause", true, false}},
      {"bsd-3-clause", {"BSD-3-Clause", true, false}},
      {"bsd-3-clause-clear", {"BSD-3-Clause-Clear", true, false}},
      {"bsl-1.0", {"BSL-1.0", true, false}},
      {"cc0-1.0", {"CC0-1.0", true, false}},
      {"cc-by-2.0", {"CC-BY-2.0", true, false}},
      {"cc-by-3.0", {"CC-BY-3.0", true, false}},
      {"cc-by-4.0", {"CC-BY-4.0", true, false}},
      {"cc-by-sa-3.0", {"CC-BY-SA-3.0", true, false}},
      {"cc-by-sa-4.0", {"CC-BY-SA-4.0", true, false}},
      {"cc-by-nc-2.0", {"CC-BY-NC-2.0", true, true}},
      {"cc-by-nc-3.0", {"CC-BY-NC-3.0", true, true}},
      {"cc-by-nc-4.0", {"CC-BY-NC-4.0", true, true}},
      {"cc-by-nc-nd-3.0", {"CC-BY-NC-ND-3.0", true, true}},
      {"cc-by-nc-nd-4.0", {"CC-BY-NC-ND-4.0", true, true}},
      {"cc-by-nc-sa-2.0", {"CC-BY-NC-SA-2.0", true, true}},
      {"cc-by-nc-sa-3.0", {"CC-BY-NC-SA-3.0", true, true}},
      {"cc-by-nc-sa-4.0", {"CC-BY-NC-SA-4.0", true, true}},
      {"cc-by-nd-4.0", {"CC-BY-ND-4.0", true, false}},
      {"gpl-2.0", {"GPL-2.0-only", true, false}},
      {"gpl-2.0-only", {"GPL-2.0-only", true, false}},
      {"gpl-3.0", {"GPL-3.0-only", true, false}},
      {"gpl-3.0-only", {"GPL-3.0-only", true, false}},
      {"gpl-3.0-or-later", {"GPL-3.0-or-later", true, false}},
      {"lgpl-2.1", {"LGPL-2.1-only", true, false}},
      {"lgpl-3.0", {"LGPL-3.0-only", true, false}},
      {"lgpl-3.0-only", {"LGPL-3.0-only", true, false}},
      {"agpl-3.0", {"AGPL-3.0-only", true, false}},
      {"agpl-3.0-only", {"AGPL-3.0-only", true, false}},
      {"mpl-2.0", {"MPL-2.0", true, false}},
      {"epl-2.0", {"EPL-2.0", true, false}},
      {"eupl-1.2", {"EUPL-1.2", true, false}},
      {"afl-3.0", {"AFL-3.0", true, false}},
      {"artistic-2.0", {"Artistic-2.0", true, false}},
      {"ecl-2.0", {"ECL-2.0", true, false}},
      {"isc", {"ISC", true, false}},
      {"unlicense", {"Unlicense", true, false}},
      {"wtfpl", {"WTFPL", true, false}},
      {"zlib", {"Zlib", true, false}},
      {"odc-by", {"ODC-By-1.0", true, false}},
      {"odc-by-1.0", {"ODC-By-1.0", true, false}},
      {"odbl", {"ODbL-1.0", true, false}},
      {"odbl-1.0", {"ODbL-1.0", true, false}},
      {"pddl", {"PDDL-1.0", true, false}},
      {"creativeml-openrail-m", {"CreativeML-OpenRAIL-M", true, false}},
      {"bigscience-openrail-m", {"BigScience-OpenRAIL-M", true, false}},
      {"bigscience-bloom-rail-1.0", {"LicenseRef-BigScience-BLOOM-RAIL-1.0", false, false}},
      // Model licenses SPDX does not list: stable LicenseRef- ids.
      {"openrail", {"LicenseRef-OpenRAIL", false, false}},
      {"openrail++", {"LicenseRef-OpenRAIL-plus-plus", false, false}},
      {"llama2", {"LicenseRef-Llama-2", false, false}},
      {"llama 2 community license", {"LicenseRef-Llama-2", false, false}},
      {"llama3", {"LicenseRef-Llama-3", false, false}},
      {"llama3.1", {"LicenseRef-Llama-3.1", false, false}},
      {"llama3.2", {"LicenseRef-Llama-3.2", false, false}},
      {"llama3.3", {"LicenseRef-Llama-3.3", false, false}},
      {"llama4", {"LicenseRef-Llama-4", false, false}},
      {"gemma", {"LicenseRef-Gemma", false, false}},
      {"deepfloyd-if-license", {"LicenseRef-DeepFloyd-IF", false, true}},
      {"apple-ascl", {"LicenseRef-Apple-ASCL", false, false}},
      {"mnpl", {"LicenseRef-Mistral-MNPL", false, true}},
      {"mistral-ai-non-production-license", {"LicenseRef-Mistral-MNPL", false, true}},
      {"qwen", {"LicenseRef-Qwen", false, false}},
      {"qwen-research", {"LicenseRef-Qwen-Research", false, true}},
      {"research-only", {"LicenseRef-Research-Only", false, true}},
      {"non-commercial", {"LicenseRef-Non-Commercial", false, true}},
  };
  return *aliases;
}

}  // namespace

LicenseInfo NormalizeLicense(std::string_view raw) {
  LicenseInfo info;
  info.raw = std::string(Trim(raw));
  std::string key = ToLower(info.raw);
  // Hugging Face writes "other" / "unknown" when the card does not say.
  if (key.empty() || key == "other" || key == "unknown" || key == "none") {
    info.id = "unknown";
    return info;
  }
  auto it = Aliases().find(key);
  if (it == Aliases().end()) {
    // An exact SPDX/LicenseRef id in another case ("APACHE-2.0") was caught
    // above; a LicenseRef- id given explicitly is kept as the user wrote it.
    if (key.rfind("licenseref-", 0) == 0 && key.size() > 11) {
      info.id = info.raw;
      info.non_commercial = key.find("non-commercial") != std::string::npos ||
                            key.find("noncommercial") != std::string::npos;
      return info;
    }
    for (const auto& [alias, known] : Aliases()) {
      if (ToLower(known.id) == key) {
        info.id = known.id;
        info.spdx = known.spdx;
        info.non_commercial = known.non_commercial;
        return info;
      }
    }
    info.id = "unknown";
    return info;
  }
  info.id = it->second.id;
  info.spdx = it->second.spdx;
  info.non_commercial = it->second.non_commercial;
  return info;
}

std::string_view LicenseVerdictName(LicenseVerdict v) {
  switch (v) {
    case LicenseVerdict::kAllow:
      return "allow";
    case LicenseVerdict::kRequireApproval:
      return "require_approval";
    case LicenseVerdict::kDeny:
      return "deny";
  }
  return "deny";
}

Result<LicensePolicy> LicensePolicy::FromConfig(const config::Config& config) {
  return FromYaml(config.path, config.root);
}

Result<LicensePolicy> LicensePolicy::FromYaml(const std::string& file, const YAML::Node& root) {
  LicensePolicy policy;
  const YAML::Node section = root["licenses"];
  if (section && !section.IsNull()) {
    if (!section.IsMap()) return config::ErrorAt(file, section, "`licenses` must be a mapping");
    for (auto it = section.begin(); it != section.end(); ++it) {
      std::string k = it->first.as<std::string>("");
      if (k != "allowed" && k != "denied" && k != "require_approval" && k != "unknown") {
        return config::ErrorAt(
            file, it->first,
            "unknown key `licenses." + k + "` (allowed, denied, require_approval, unknown)");
      }
    }
    auto read_list = [&](const char* key, std::set<std::string>* out) -> Status {
      STEWARD_ASSIGN_OR_RETURN(auto list, config::GetStringList(file, section, key, {}));
      for (const auto& entry : list) {
        LicenseInfo li = NormalizeLicense(entry);
        if (!li.known()) {
          return config::ErrorAt(file, section[key],
                                 "`licenses." + std::string(key) + "` entry `" + entry +
                                     "` is not a license id Steward knows (use an SPDX id or "
                                     "LicenseRef-...)");
        }
        out->insert(li.id);
      }
      return Status::Ok();
    };
    STEWARD_RETURN_IF_ERROR(read_list("allowed", &policy.allowed));
    STEWARD_RETURN_IF_ERROR(read_list("denied", &policy.denied));
    STEWARD_RETURN_IF_ERROR(read_list("require_approval", &policy.require_approval));
    STEWARD_ASSIGN_OR_RETURN(std::string unknown,
                             config::GetString(file, section, "unknown", "require_approval"));
    if (unknown == "allow") {
      policy.unknown = LicenseVerdict::kAllow;
    } else if (unknown == "deny") {
      policy.unknown = LicenseVerdict::kDeny;
    } else if (unknown == "require_approval") {
      policy.unknown = LicenseVerdict::kRequireApproval;
    } else {
      return config::ErrorAt(file, section["unknown"],
                             "`licenses.unknown` must be allow, deny or require_approval");
    }
  }
  const YAML::Node deployment = root["deployment"];
  if (deployment && deployment.IsMap()) {
    STEWARD_ASSIGN_OR_RETURN(policy.commercial,
                             config::GetBool(file, deployment, "commercial", false));
  }
  return policy;
}

LicenseDecision LicensePolicy::Evaluate(const LicenseInfo& license) const {
  if (!license.known()) {
    std::string what = license.raw.empty() ? "no license is declared"
                                           : "license `" + license.raw + "` is not recognised";
    return {unknown,
            what + " (licenses.unknown: " + std::string(LicenseVerdictName(unknown)) + ")"};
  }
  if (denied.count(license.id)) {
    return {LicenseVerdict::kDeny, license.id + " is in licenses.denied"};
  }
  if (commercial && license.non_commercial) {
    return {LicenseVerdict::kDeny,
            license.id + " forbids commercial use and deployment.commercial is true"};
  }
  if (require_approval.count(license.id)) {
    return {LicenseVerdict::kRequireApproval, license.id + " is in licenses.require_approval"};
  }
  if (!allowed.empty() && !allowed.count(license.id)) {
    return {LicenseVerdict::kDeny, license.id + " is not in licenses.allowed"};
  }
  return {LicenseVerdict::kAllow, license.id + " is allowed"};
}

}  // namespace steward::registry
