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
  // Loads a database serialised by SerializeBuiltinDatabase() for
  // `signatures`; refuses one made for other signatures, another Vectorscan
  // version or another target CPU.
  static Result<std::unique_ptr<SignatureSet>> Deserialize(std::vector<Signature> signatures,
                                                           std::string_view blob);
  // The built-in set: the database serialised at build time when it fits,
  // otherwise compiled once (aborts only if the built-in list is broken,
  // which the unit tests rule out).
  static const SignatureSet& Builtin();
  // Whether this set was loaded from a serialised database.
  bool deserialized() const { return deserialized_; }

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
  friend Result<std::string> SerializeBuiltinDatabase();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Signature> signatures_;
  bool deserialized_ = false;
};

// The built-in set compiled and serialised (for this build's target
// platform), with a fingerprint header: what the build embeds.
Result<std::string> SerializeBuiltinDatabase();

// The blob embedded at build time (empty if the build had none).
std::string_view EmbeddedSignatureDatabase();

}  // namespace steward::injection
