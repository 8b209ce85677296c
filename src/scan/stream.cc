#include "scan/stream.h"

#include <algorithm>

namespace steward::scan {
namespace {
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsNumberish(char c) {
  return (c >= '0' && c <= '9') || c == '+' || c == '(' || c == ')' || c == '-' || c == '.' ||
         c == ' ' || c == '/' || c == ':';
}
}  // namespace

StreamScanner::StreamScanner(const Scanner* scanner, ScanOptions options, ActionFor action_for,
                             TransformContext tctx,
                             std::function<bool(std::string_view, std::string_view)> skip)
    : scanner_(scanner),
      options_(options),
      action_for_(std::move(action_for)),
      tctx_(tctx),
      skip_(std::move(skip)) {}

std::string StreamScanner::Push(std::string_view piece) {
  pending_.append(piece);
  return Release(false);
}

std::string StreamScanner::Flush() { return Release(true); }

std::string StreamScanner::Release(bool final) {
  if (pending_.empty()) return "";
  std::string window = tail_ + pending_;
  size_t base = tail_.size();  // window offset of pending_[0]
  scanned_bytes_ += window.size();
  std::vector<Finding> found = scanner_->Scan(window, options_);
  size_t hold = window.size();  // window offset where held-back text starts
  if (!final) {
    // Trailing word (may continue in the next chunk).
    size_t h = window.size();
    while (h > base && !IsSpace(window[h - 1])) --h;
    // A trailing run of digits and separators ("+44 20 7946" ...).
    size_t n = h;
    while (n > base && h - n < 32 && IsNumberish(window[n - 1])) --n;
    bool digits = false;
    for (size_t i = n; i < h; ++i) digits |= window[i] >= '0' && window[i] <= '9';
    if (digits) h = n;
    // A trailing capitalised word (a name may go on: "John" + " Smith").
    if (h == window.size() || h > base) {
      size_t w = h;
      while (w > base && IsSpace(window[w - 1])) --w;
      size_t ws = w;
      while (ws > base && !IsSpace(window[ws - 1])) --ws;
      if (ws < w && window[ws] >= 'A' && window[ws] <= 'Z' && window.size() - ws < 64) h = ws;
    }
    // Anything a recognizer found near the end may still grow.
    for (const Finding& f : found)
      if (f.end + 1 >= h && f.start >= base) h = std::min(h, f.start);
    if (window.size() - h > kMaxHold) h = window.size() - kMaxHold;
    hold = std::max(h, base);
  }
  // Apply actions to findings that end inside the released region.
  std::string out;
  size_t pos = base;
  for (const Finding& f : found) {
    if (f.end > hold) continue;
    size_t stream_end = released_ - base + f.end;
    if (f.end <= base || stream_end <= committed_end_) continue;  // counted before
    std::string_view value = std::string_view(window).substr(f.start, f.end - f.start);
    if (skip_ && skip_(f.type, value)) continue;
    findings_.push_back({f.type, released_ - base + f.start, stream_end, f.score});
    committed_end_ = stream_end;
    Action a = action_for_(f);
    if (!Rewrites(a)) continue;
    // The part already released (look-back) cannot be taken back.
    size_t from = std::max(f.start, base);
    if (from < pos) continue;
    out.append(window, pos, from - pos);
    switch (a) {
      case Action::kMask: out += MaskValue(value); break;
      case Action::kRedact: out += RedactToken(f.type); break;
      case Action::kHash: out += HashToken(f.type, value, tctx_.hash_key); break;
      case Action::kPseudonymize:
        out += tctx_.vault ? tctx_.vault->Pseudonymize(f.type, value, tctx_.avoid)
                           : RedactToken(f.type);
        break;
      default: break;
    }
    pos = f.end;
  }
  out.append(window, pos, hold - pos);
  // Advance: released original text joins the look-back tail.
  std::string released_original = window.substr(base, hold - base);
  released_ += released_original.size();
  tail_ += released_original;
  if (tail_.size() > kLookBack) tail_.erase(0, tail_.size() - kLookBack);
  pending_ = window.substr(hold);
  return out;
}

}  // namespace steward::scan
