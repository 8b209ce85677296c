// The request a policy decides on: typed attribute values by schema slot.
// Built from a RequestContext in the gateway, or from JSON in
// `steward policy eval` and policy tests (see docs/policy.md for the shape).
#pragma once

#include <array>
#include <bitset>
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/schema.h"
#include "steward/stage.h"
#include "steward/status.h"

namespace steward::policy {

constexpr double kDefaultInjectionThreshold = 0.5;

struct FindingStat {
  std::string type;
  int64_t count = 0;
  double max_score = 0;
};

class Request {
 public:
  Request();

  void SetString(Attr a, std::string v);
  void SetLong(Attr a, int64_t v);
  void SetDouble(Attr a, double v);
  void SetBool(Attr a, bool v);
  void SetSet(Attr a, std::vector<std::string> v);  // sorted and de-duplicated here
  // Adds findings of one entity type (counts add up, the max score is kept);
  // keeps context.finding_types and context.findings_total in step.
  void AddFinding(std::string_view type, int64_t count, double max_score);
  // Derives context.time.hour/weekday from unix_ms and tokens.total from
  // prompt + completion unless they were set explicitly.
  void Finish();

  bool Has(Attr a) const { return present_[static_cast<size_t>(a)]; }
  const std::string& String(Attr a) const { return v(a).s; }
  int64_t Long(Attr a) const { return v(a).i; }
  double Double(Attr a) const { return v(a).d; }
  bool Bool(Attr a) const { return v(a).b; }
  const std::vector<std::string>& Set(Attr a) const { return v(a).set; }
  // The findings of `type`, or null when there are none.
  const FindingStat* Finding(std::string_view type) const;
  const std::vector<FindingStat>& findings() const { return findings_; }

 private:
  struct Slot {
    std::string s;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    std::vector<std::string> set;
  };
  const Slot& v(Attr a) const { return values_[static_cast<size_t>(a)]; }
  Slot& mut(Attr a) {
    present_.set(static_cast<size_t>(a));
    return values_[static_cast<size_t>(a)];
  }
  std::array<Slot, kNumAttrs> values_;
  std::bitset<kNumAttrs> present_;
  std::vector<FindingStat> findings_;  // sorted by type
};

// Parses the JSON request shape; unknown attributes and wrong types are
// errors naming the attribute path.
Result<Request> RequestFromJson(const boost::json::value& json);
Result<Request> RequestFromJsonText(std::string_view text);
boost::json::object RequestToJson(const Request& r);

// Settings of the deployment that requests carry into policy.
struct RequestDefaults {
  bool deployment_commercial = false;
  double injection_threshold = kDefaultInjectionThreshold;  // the detector's direct threshold
};

// The data-plane request as policy sees it (input findings only: policy runs
// before the upstream call).
Request RequestFromContext(const RequestContext& ctx, const RequestDefaults& defaults);

// An admin-plane request: `action` such as "keys.create", the resource a
// string map ("name", "version", ...).
Request AdminRequest(const Principal& principal, std::string_view action,
                     const std::map<std::string, std::string>& resource, int64_t unix_ms);

// Whether an SPDX license id is known to allow commercial use; unknown ids
// leave the attribute absent (policies decide what absence means).
enum class CommercialUse { kYes, kNo, kUnknown };
CommercialUse LicenseCommercialUse(std::string_view spdx);

}  // namespace steward::policy
