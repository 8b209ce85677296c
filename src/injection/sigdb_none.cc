// The signature-database generator itself embeds no database.
#include <string_view>

namespace steward::injection {

std::string_view EmbeddedSignatureDatabase() { return {}; }

}  // namespace steward::injection
