// Scanning a streamed reply chunk by chunk with bounded look-back.
//
// Push() returns the text that can be released now (with actions applied);
// the unreleased tail is held back only while it could still be part of an
// entity (a trailing word, a trailing run of digits/separators, or a span a
// recognizer found touching the end), and never beyond kMaxHold bytes. An
// entity split across chunks is found because every scan covers the last
// kLookBack released bytes plus everything held. Work per chunk is bounded
// by kLookBack + kMaxHold + chunk size, so a stream is linear in its length.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/finding.h"
#include "scan/scanner.h"
#include "scan/transform.h"

namespace steward::scan {

class StreamScanner {
 public:
  static constexpr size_t kLookBack = 256;
  static constexpr size_t kMaxHold = 1024;

  // `skip` (optional) returns true for findings to ignore (e.g. values the
  // prompt already contained). `action_for` decides rewrites.
  StreamScanner(const Scanner* scanner, ScanOptions options, ActionFor action_for,
                TransformContext tctx,
                std::function<bool(std::string_view type, std::string_view value)> skip = {});

  std::string Push(std::string_view piece);
  std::string Flush();

  // Every finding committed so far (offsets are into the whole stream).
  const std::vector<Finding>& findings() const { return findings_; }
  size_t held() const { return pending_.size(); }
  uint64_t scanned_bytes() const { return scanned_bytes_; }

 private:
  std::string Release(bool final);

  const Scanner* scanner_;
  ScanOptions options_;
  ActionFor action_for_;
  TransformContext tctx_;
  std::function<bool(std::string_view, std::string_view)> skip_;
  std::string tail_;     // last released original bytes (<= kLookBack)
  std::string pending_;  // original bytes not yet released
  size_t released_ = 0;  // stream offset of pending_[0]
  size_t committed_end_ = 0;  // findings ending at or before this were counted
  std::vector<Finding> findings_;
  uint64_t scanned_bytes_ = 0;
};

}  // namespace steward::scan
