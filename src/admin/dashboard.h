// The dashboard: one self-contained HTML page served at / on the admin
// listener. It asks for an admin key, keeps it in the tab's sessionStorage,
// and renders health, traffic and keys from the admin API.
#pragma once

#include <string_view>

namespace steward::admin {
std::string_view DashboardHtml();
}
