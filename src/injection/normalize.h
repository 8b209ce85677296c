// Text normalisation ahead of injection detection.
//
// Attackers hide instructions from naive matchers with look-alike letters,
// invisible characters, leetspeak and encodings. Normalize() undoes those so
// that the signatures and the model see one canonical form:
//   1. UTF-8 decoding (invalid bytes become U+FFFD), an NFKC subset
//      (fullwidth forms, mathematical alphanumerics, enclosed letters,
//      ligatures, Unicode spaces) and accent stripping (Latin decompositions
//      with combining marks dropped);
//   2. zero-width and bidi control removal;
//   3. detection and decoding of embedded base64 / hex / URL-encoded segments
//      (recursively, with bounded work) into extra views;
//   4. case folding, confusable folding inside words that mix Latin with
//      Cyrillic/Greek look-alikes, whitespace collapsing, leetspeak folding of
//      words that mix letters with leet digits, and joining of spaced-out
//      letters ("i g n o r e" -> "ignore");
//   5. a rot13 view of the folded text (scanned by the signatures only).
// Normalize() never fails and its work is linear in the input size: two
// passes over the text (see normalize.cc), the decoder only where a segment
// could be.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace steward::injection {

// What the normaliser had to undo; each bit is also a detection signal.
enum NormalizeFlag : uint32_t {
  kFlagZeroWidth = 1u << 0,      // zero-width characters removed
  kFlagBidi = 1u << 1,           // bidi controls removed
  kFlagConfusable = 1u << 2,     // Cyrillic/Greek look-alikes inside Latin words
  kFlagCompat = 1u << 3,         // fullwidth / math / enclosed letters folded
  kFlagLeet = 1u << 4,           // leetspeak words folded
  kFlagSpacedLetters = 1u << 5,  // "i g n o r e" joined
  kFlagBase64 = 1u << 6,         // a base64 segment decoded to text
  kFlagHex = 1u << 7,            // a hex segment decoded to text
  kFlagUrlEncoded = 1u << 8,     // a %XX run decoded
  kFlagInvalidUtf8 = 1u << 9,    // invalid UTF-8 replaced
  kFlagOddTokens = 1u << 10,     // many camelCase/symbol-laden tokens in prose
                                 // (the shape of optimised adversarial suffixes)
};

// Names of the set bits, e.g. {"obfuscation.zero_width", "encoding.base64"}.
std::vector<std::string> FlagNames(uint32_t flags);

struct NormalizeOptions {
  int max_decode_depth = 2;            // decoded text is itself searched this deep
  size_t max_decoded_bytes = 1 << 16;  // total decoded output across segments
  int max_segments = 16;               // decoded segments kept
  size_t max_input_bytes = 1 << 20;    // longer input is cut (the tail is not scanned)
  bool rot13_view = true;
};

struct NormalizedText {
  std::string text;                  // folded main view (UTF-8, lower case)
  std::vector<std::string> decoded;  // folded views of decoded segments
  std::string rot13;                 // rot13 of `text` (empty if disabled)
  uint32_t flags = 0;                // NormalizeFlag bits
};

NormalizedText Normalize(std::string_view input, const NormalizeOptions& options = {});
// The same into `out`, reusing its buffers (callers that screen many texts on
// one thread keep one NormalizedText and avoid the allocations).
void Normalize(std::string_view input, const NormalizeOptions& options, NormalizedText* out);

// Only steps 1, 2 and 4 (no decoding, no rot13): the folded form of `input`.
std::string FoldText(std::string_view input, uint32_t* flags = nullptr);

}  // namespace steward::injection
