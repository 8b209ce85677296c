// What to do with a finding, and the text transformations that do it:
// mask ("****1234"), redact ("<EMAIL_ADDRESS>"), hash (keyed: one value
// always maps to one token under one key), pseudonymize (a realistic-format
// placeholder remembered in a per-request Vault so the original can be
// restored in the model's reply, also across streamed chunks).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scan/finding.h"
#include "steward/status.h"

namespace steward::scan {

// From the weakest to the strongest (a summary of several findings shows
// the strongest action taken).
enum class Action { kAllow, kFlag, kMask, kRedact, kHash, kPseudonymize, kBlock };

Result<Action> ParseAction(std::string_view name);
std::string_view ActionName(Action a);
// True for actions that rewrite the text.
bool Rewrites(Action a);

// "****" + the last 4 letters/digits of `value` (all stars when shorter than 8);
// e-mail addresses keep their domain: "****@example.org".
std::string MaskValue(std::string_view value);
// "<TYPE>"
std::string RedactToken(std::string_view type);
// "<TYPE:hex10>" where hex10 is HMAC-SHA256(key, type ":" value) truncated.
std::string HashToken(std::string_view type, std::string_view value, std::string_view key);

// Per-request pseudonym memory: one original <-> one placeholder. Not
// thread-safe (a request is handled by one thread at a time).
//
// A request pseudonymizes a handful of values, so the vault is built for
// that: the values' bytes live in a few arena blocks that never move, the
// entries in one array and two small open-addressing indexes (by type and
// original, by placeholder) map to them, and placeholders are composed in
// one reused buffer: a new value costs no allocation of its own once the
// first blocks exist (the maps of strings before cost ~8 a value).
class Vault {
 public:
  // `seed` makes placeholders deterministic in tests; 0 = random.
  explicit Vault(uint64_t seed = 0);
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // The placeholder for `original` (created on first use). `avoid` is text
  // the placeholder must not already occur in (the prompt), so restoring it
  // cannot touch genuine text. The view stays valid while the vault lives.
  std::string_view Pseudonymize(std::string_view type, std::string_view original,
                                std::string_view avoid = {});

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  size_t max_placeholder_length() const { return max_len_; }
  // Whether `text` is one of the vault's placeholders.
  bool IsPlaceholder(std::string_view text) const {
    return FindPlaceholder(text, TextHash(text)) != kNone;
  }
  // Replaces every placeholder in `text` by its original. Linear in
  // text.size() times the number of placeholders sharing a first byte.
  std::string Restore(std::string_view text) const;
  // Streaming form: appends the restored text to `out` and returns how many
  // bytes of `text` it consumed; unless `final`, it stops at a tail that is
  // a proper prefix of a placeholder (at most the longest placeholder).
  size_t RestorePrefix(std::string_view text, bool final, std::string* out) const;

  // Whether `p` occurs in `avoid` (exact). A placeholder per finding
  // searched through the whole prompt is quadratic on big prompts with
  // many findings, so a bitmap of the prompt's hashed 4-byte windows at
  // offsets 0, 4, 8, ... (built once per prompt) rules out most
  // placeholders first: one that occurs has, for one of its 4 alignments,
  // all its windows of that alignment in the table.
  bool Occurs(std::string_view avoid, std::string_view p);

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  struct Entry {
    std::string_view type, original, placeholder;  // bytes in the arena
    uint64_t key_hash;                             // of (type, original)
    uint64_t placeholder_hash;
  };
  // Composes a candidate placeholder for `original` into candidate_.
  void Candidate(std::string_view type, std::string_view original);
  uint64_t Next();
  // Copies `bytes` into the arena (blocks never move).
  std::string_view Keep(std::string_view bytes);
  static uint64_t KeyHash(std::string_view type, std::string_view original);
  static uint64_t TextHash(std::string_view text);
  uint32_t FindOriginal(std::string_view type, std::string_view original, uint64_t hash) const;
  uint32_t FindPlaceholder(std::string_view placeholder, uint64_t hash) const;
  // Adds entries_.back() to both indexes (growing them at half load).
  void Index();

  struct GramFilter {
    const char* data = nullptr;  // the prompt it was built for
    size_t size = 0;
    uint64_t sample = 0;  // hash of ~64 bytes spread over it
    unsigned shift = 0;
    std::vector<uint8_t> slots;  // 1 where a window hashes to
  };
  GramFilter grams_;

  uint64_t state_;
  size_t max_len_ = 0;
  std::vector<Entry> entries_;
  std::vector<uint32_t> by_original_;     // open addressing: entry index or kNone
  std::vector<uint32_t> by_placeholder_;  // the same, by placeholder
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* block_at_ = nullptr;  // free bytes of the newest block
  size_t block_left_ = 0;
  std::string candidate_;  // reused for every candidate placeholder
  // RestorePrefix's order: entry indexes by first byte, longest first
  // (rebuilt when entries were added since).
  mutable std::vector<uint32_t> restore_order_;
  mutable uint32_t restore_first_[257] = {};
  mutable size_t restore_built_for_ = 0;
};

// Restores placeholders in a stream of text pieces: holds back the shortest
// tail that could still be the beginning of a placeholder (never more than
// the longest placeholder minus one byte) and releases it with the next
// piece or on Flush().
class StreamRestorer {
 public:
  explicit StreamRestorer(const Vault* vault) : vault_(vault) {}
  std::string Push(std::string_view piece);
  std::string Flush();
  size_t held() const { return pending_.size(); }

 private:
  const Vault* vault_;
  std::string pending_;
};

// Context for applying actions to a text.
struct TransformContext {
  Vault* vault = nullptr;      // required for kPseudonymize
  std::string_view hash_key;   // required for kHash
  std::string_view avoid;      // text placeholders must not collide with
};

// The action to take on one finding.
using ActionFor = std::function<Action(const Finding&)>;

// Rewrites `text`, replacing each finding whose action rewrites. Findings
// must be sorted and non-overlapping (Scanner output).
std::string ApplyActions(std::string_view text, const std::vector<Finding>& findings,
                         const ActionFor& action_for, const TransformContext& ctx);

}  // namespace steward::scan
