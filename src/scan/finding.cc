#include "scan/finding.h"

#include <algorithm>

namespace steward::scan {

const std::vector<std::string_view>& AllEntityTypes() {
  static const std::vector<std::string_view> kTypes = {
      "EMAIL_ADDRESS", "PHONE_NUMBER",   "CREDIT_CARD",    "IBAN_CODE",      "US_SSN",
      "US_ITIN",       "US_PASSPORT",    "US_DRIVER_LICENSE", "US_BANK_NUMBER", "UK_NHS",
      "IP_ADDRESS",    "MAC_ADDRESS",    "URL",            "DATE_TIME",      "CRYPTO",
      "MEDICAL_LICENSE", "PERSON",       "LOCATION",       "NRP",            "AWS_ACCESS_KEY",
      "AWS_SECRET_KEY", "GITHUB_TOKEN",  "GITLAB_TOKEN",   "SLACK_TOKEN",    "STRIPE_KEY",
      "GOOGLE_API_KEY", "OPENAI_API_KEY", "PRIVATE_KEY",   "JWT",            "PASSWORD",
      "GENERIC_SECRET"};
  return kTypes;
}

std::string_view CanonicalType(std::string_view type) {
  for (std::string_view t : AllEntityTypes())
    if (t == type) return t;
  return {};
}

bool IsSecretType(std::string_view type) {
  static constexpr std::string_view kSecrets[] = {
      "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN", "GITLAB_TOKEN",  "SLACK_TOKEN",
      "STRIPE_KEY",     "GOOGLE_API_KEY", "OPENAI_API_KEY", "PRIVATE_KEY", "JWT",
      "PASSWORD",       "GENERIC_SECRET"};
  return std::find(std::begin(kSecrets), std::end(kSecrets), type) != std::end(kSecrets);
}

}  // namespace steward::scan
