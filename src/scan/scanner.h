// The scanning engine: every pattern recognizer compiled into one Vectorscan
// database and scanned once per text; validators and context scoring run on
// candidates only; the PERSON/LOCATION statistical recognizer runs over the
// same text; overlapping spans are resolved by score, then length.
//
// A Scanner is immutable after Create() and safe to share between threads
// (Vectorscan scratch space comes from an internal pool).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scan/finding.h"
#include "steward/status.h"

namespace steward::scan {

class NameRecognizer;

struct ScanOptions {
  // Findings scoring below this are dropped (before overlap resolution).
  double min_score = 0.5;
  // Run the PERSON/LOCATION recognizer (if its data was found).
  bool names = true;
};

// Work counters, for tests that show scanning stays linear.
struct ScanStats {
  uint64_t pattern_matches = 0;   // Vectorscan match callbacks
  uint64_t candidates = 0;        // distinct candidate spans
  uint64_t validated_bytes = 0;   // bytes handed to validators
  uint64_t name_tokens = 0;       // tokens the name model looked at
};

// How the engine runs, for tests that compare its fast paths with the
// plain ones they replace (findings must be identical).
struct EngineOptions {
  // Cheap necessary conditions before start recovery and validation, and
  // the digit-region numeric pass; false runs every candidate the plain way.
  bool fast_paths = true;
  // Deserialise the Vectorscan databases from the build's
  // scan_patterns.hsdb (see WritePatternDatabases) when it is found and
  // matches the pattern table, Vectorscan version and platform; anything
  // missing or different is compiled.
  bool use_serialized = true;
};

class PatternStore;

class Scanner {
 public:
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Compiles the pattern database and loads the name model from
  // `data_dir` (the folder holding names.model etc.); an empty `data_dir`
  // builds a pattern-only scanner. Fails if the data is present but corrupt.
  static Result<std::unique_ptr<Scanner>> Create(const std::string& data_dir);
  static Result<std::unique_ptr<Scanner>> Create(const std::string& data_dir,
                                                 const EngineOptions& engine);

  // The process-wide scanner, built on first use from FindScanDataDir().
  // If the name data cannot be found it logs one warning on stderr and
  // runs without PERSON/LOCATION.
  static const Scanner& Default();
  // Default(), or an error naming the problem when `names_required` and it
  // runs without PERSON/LOCATION: a gateway configured to protect names
  // must not start without that protection (fail closed).
  static Result<const Scanner*> DefaultFor(bool names_required);

  // Findings sorted by start offset, non-overlapping.
  std::vector<Finding> Scan(std::string_view text, const ScanOptions& options = {},
                            ScanStats* stats = nullptr) const;

  bool has_names() const { return names_ != nullptr; }
  // How many Vectorscan databases were deserialised rather than compiled.
  size_t deserialized_databases() const;

 private:
  friend Status WritePatternDatabases(const std::string& path);
  static Result<std::unique_ptr<Scanner>> CreateWith(const std::string& data_dir,
                                                     const EngineOptions& engine,
                                                     PatternStore* store);
  struct Impl;
  Scanner();
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<NameRecognizer> names_;
};

// Compiles every Vectorscan database of a default scanner and writes them,
// serialised, to `path` (the build runs this: scan_patterns.hsdb, found
// next to the executable or up to 4 folders above it, or in
// $STEWARD_DATA_DIR). Creating a scanner then takes milliseconds instead of
// ~1 s and none of the compiler's memory.
Status WritePatternDatabases(const std::string& path);

// Resolves overlaps: keeps the highest-scoring span (then the longest, then
// the earliest) and drops spans overlapping a kept one. Sorted by start.
std::vector<Finding> ResolveOverlaps(std::vector<Finding> findings);

// A superset of the bytes any match of the Vectorscan `regex` can contain,
// read from the pattern text; false when unknown or when it is every byte.
// The scanner starts its leftmost-start windows after the last byte outside
// it (exposed for tests).
bool PatternAlphabet(const char* regex, bool caseless, std::array<bool, 256>* alphabet);

// The ends of every match of the phone pattern the scanner matches by hand
// (PhonePatternRegex(), caseless), in order: what Vectorscan reports for
// it (exposed for the test that checks exactly that).
std::vector<size_t> PhonePatternEnds(std::string_view text);
std::string_view PhonePatternRegex();

// The digit-led patterns the scanner matches by hand from the digit runs
// (card, SSN, ITIN, NHS, IPv4, ISO and numeric dates, clock times), in
// the order DigitPatternEnds numbers them, and the ends of every match of
// pattern `kind` in `text`, in order: what Vectorscan reports for it
// (exposed for the test that checks exactly that).
// The last two (clock times and "9 am") are caseless (DigitPatternCaseless).
const std::vector<std::string_view>& DigitPatternRegexes();
bool DigitPatternCaseless(size_t kind);
std::vector<size_t> DigitPatternEnds(size_t kind, std::string_view text);

// The leftmost start of a match of the clock-time pattern
// (TimePatternRegex(), caseless) that ends at `end` in `buffer`, as a
// Vectorscan leftmost-start scan of `buffer` reports it (its edges count as
// non-word bytes); SIZE_MAX if no match ends there. The scanner recovers
// time candidates' starts with it (exposed for the test that checks that).
size_t TimeLeftmostStart(std::string_view buffer, size_t end);
std::string_view TimePatternRegex();

// The same for the URL pattern (UrlPatternRegex(), caseless): the scanner
// recovers URL candidates' starts with it instead of a re-scan that
// reported every byte of the URL (exposed for the test that checks that).
// The OfEnds form: the leftmost start of a match ending at any of `ends`
// (ascending), as the re-scan reported it for a candidate's ends.
size_t UrlLeftmostStart(std::string_view buffer, size_t end);
size_t UrlLeftmostStartOfEnds(std::string_view buffer, const size_t* ends, size_t count);
std::string_view UrlPatternRegex();
// The same for the bare-domain URL pattern (DomainPatternRegex(),
// case-sensitive: "example.com/path").
size_t DomainLeftmostStart(std::string_view buffer, size_t end);
size_t DomainLeftmostStartOfEnds(std::string_view buffer, const size_t* ends, size_t count);
std::string_view DomainPatternRegex();
// The same for GENERIC_SECRET's assignment pattern (SecretPatternRegex(),
// caseless: "api_key = 'v").
size_t SecretLeftmostStart(std::string_view buffer, size_t end);
std::string_view SecretPatternRegex();
// The same for the e-mail pattern (EmailPatternRegex(), case-sensitive).
size_t EmailLeftmostStart(std::string_view buffer, size_t end);
std::string_view EmailPatternRegex();

// Where the scanner's data files live: $STEWARD_DATA_DIR/scan (or
// $STEWARD_DATA_DIR itself if it holds names.model), else ../data/scan
// relative to the executable (and ../../data/scan, ../../../data/scan for
// binaries deeper in a build tree), else ./data/scan. Empty if none found.
std::string FindScanDataDir();

}  // namespace steward::scan
