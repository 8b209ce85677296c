// Injection signatures: hand-written patterns over the normalised text,
// matched together in one pass by Vectorscan (Hyperscan).
//
// Each signature has a stable name "<family>.<name>" (the signal reported to
// callers), a family (instruction_override, role_play, prompt_extraction,
// delimiter, exfiltration, tool_hijack, indirect) and a prior weight in
// [0, 1] used when no trained model is available. The trained model sees
// every signature as a feature and learns its own weight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "injection/normalize.h"
#include "steward/status.h"

namespace steward::injection {

struct Signature {
  std::string name;     // "instruction_override.ignore_previous"
  std::string pattern;  // Hyperscan/PCRE syntax, matched on folded (lower-case) text
  double prior = 0.5;   // stand-alone strength
};

// The built-in signature list (data, in signatures.cc).
const std::vector<Signature>& BuiltinSignatures();

// Bit set of fired signatures, indexed like the signature list.
using SignatureHits = std::vector<uint8_t>;

class SignatureSet {
 public:
  // Compiles `signatures`; errors name the offending pattern.
  static Result<std::unique_ptr<SignatureSet>> Compile(std::vector<Signature> signatures);
  // The built-in set, compiled once (aborts only if the built-in list is
  // broken, which the unit tests rule out).
  static const SignatureSet& Builtin();

  ~SignatureSet();
  SignatureSet(const SignatureSet&) = delete;
  SignatureSet& operator=(const SignatureSet&) = delete;

  size_t size() const { return signatures_.size(); }
  const Signature& at(size_t i) const { return signatures_[i]; }

  // Marks in `hits` (resized to size()) every signature matching `text`.
  void Scan(std::string_view text, SignatureHits& hits) const;
  // Scans every view of a normalised text: the main text, the decoded
  // segments and the rot13 view.
  void ScanAll(const NormalizedText& text, SignatureHits& hits) const;

 private:
  SignatureSet() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Signature> signatures_;
};

}  // namespace steward::injection
