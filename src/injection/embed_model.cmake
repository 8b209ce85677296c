# Generates a C++ source holding the injection model file as a string, so the
# binary can screen without its data directory. Invoked at build time:
#   cmake -DIN=<model.txt> -DOUT=<model_embedded.cc> -P embed_model.cmake
if(EXISTS "${IN}")
  file(READ "${IN}" content)
else()
  set(content "")
endif()
string(LENGTH "${content}" content_length)
file(WRITE "${OUT}.tmp"
"// Generated from ${IN} by embed_model.cmake; do not edit.
#include <string_view>

namespace steward::injection {

std::string_view EmbeddedModelText() {
  static constexpr char kText[] = R\"STEWARD_MODEL(${content})STEWARD_MODEL\";
  return std::string_view(kText, ${content_length});
}

}  // namespace steward::injection
")
file(RENAME "${OUT}.tmp" "${OUT}")
