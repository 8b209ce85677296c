#include "common/vectorscan.h"

#include <dlfcn.h>

namespace steward {
namespace {

struct HsRuntime {
  HsScanFunction scan = &hs_scan;
  bool limit_platform = false;
  hs_platform_info_t platform{};
};

const HsRuntime& Runtime() {
  static const HsRuntime runtime = [] {
    HsRuntime rt;
    if (!__builtin_cpu_supports("avx2")) return rt;
    void* avx2_scan = dlsym(RTLD_DEFAULT, "avx2_hs_scan");
    if (avx2_scan == nullptr || hs_populate_platform(&rt.platform) != HS_SUCCESS) return rt;
    rt.platform.cpu_features &=
        ~static_cast<unsigned long long>(HS_CPU_FEATURES_AVX512 | HS_CPU_FEATURES_AVX512VBMI);
    rt.scan = reinterpret_cast<HsScanFunction>(avx2_scan);
    rt.limit_platform = true;
    return rt;
  }();
  return runtime;
}

}  // namespace

HsScanFunction HsScanner() { return Runtime().scan; }

const hs_platform_info_t* HsPlatform() {
  return Runtime().limit_platform ? &Runtime().platform : nullptr;
}

}  // namespace steward
