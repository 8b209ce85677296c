#include "injection/screen.h"

#include "injection/detector.h"

namespace steward::injection {

InjectionVerdict ScreenText(std::string_view text) {
  return ScreenText(text, DefaultDirectThreshold());
}

InjectionVerdict ScreenText(std::string_view text, double threshold) {
  Screening s = Detector::Default().Screen(text);
  InjectionVerdict v;
  v.score = s.score;
  v.label = s.score >= threshold ? "injection" : "benign";
  v.signals = std::move(s.signals);
  return v;
}

double DefaultDirectThreshold() { return Detector::Default().threshold_direct(); }
double DefaultExternalThreshold() { return Detector::Default().threshold_external(); }

}  // namespace steward::injection
