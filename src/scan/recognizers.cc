#include "scan/recognizers.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/strings.h"
#include "scan/validators.h"

namespace steward::scan {


namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The digits of a candidate, on the stack (validators run on every
// candidate: no allocation per candidate). Candidates may be long (joined
// match ends); only the first kCap digits are kept, `n` counts them all,
// and every validator rejects more digits than that before reading them.
struct Digits {
  static constexpr size_t kCap = 32;
  char d[kCap];
  size_t n = 0;
  bool same = true;  // all one digit
  void Add(char c) {
    if (n < kCap) d[n] = c;
    if (n > 0 && c != d[0]) same = false;
    ++n;
  }
  bool fits() const { return n <= kCap; }
  // The digits (only meaningful when fits()).
  std::string_view view() const { return std::string_view(d, n < kCap ? n : kCap); }
  char operator[](size_t i) const { return d[i]; }
};

Digits DigitsOf(std::string_view s) {
  Digits d;
  for (char c : s)
    if (IsDigit(c)) d.Add(c);
  return d;
}

// A sequence of separator bytes, summarised: how many, the first two, and
// whether they are all the same byte.
struct Seps {
  size_t n = 0;
  char first = 0, second = 0;
  bool same = true;
  void Add(char c) {
    if (n == 0) first = c;
    else if (c != first) same = false;
    if (n == 1) second = c;
    ++n;
  }
  bool empty() const { return n == 0; }
};

std::string_view Sub(std::string_view text, const Span& s) {
  return text.substr(s.start, s.end - s.start);
}

// True when a span ending at `end` continues into a longer number or word
// (the end half of EmbeddedInNumber).
bool EndEmbedded(std::string_view text, size_t end) {
  if (end + 1 < text.size()) {
    char n = text[end];
    if ((n == '.' || n == '-' || n == '/' || n == ':' || n == '_') && IsDigit(text[end + 1]))
      return true;
  }
  return end < text.size() && (IsAlnum(text[end]) || text[end] == '_');
}

// True when the span is one piece of a longer dotted/dashed number such as
// "1.2.3.4.5" or "10-555-123-4567-9": then it is not an entity by itself.
bool StartEmbedded(std::string_view text, size_t start) {
  if (start >= 2) {
    char p = text[start - 1];
    if ((p == '.' || p == '-' || p == '/' || p == ':' || p == '_') && IsAlnum(text[start - 2]))
      return true;
  }
  return start >= 1 && (IsAlnum(text[start - 1]) || text[start - 1] == '_');
}
bool EmbeddedInNumber(std::string_view text, const Span& s) {
  return StartEmbedded(text, s.start) || EndEmbedded(text, s.end);
}

// Digits [from, ..) of `text` read as a number of at most `max_digits`
// digits that ends the token (no letter, digit, '_' or ".digit" after it);
// -1 when there is no such number.
int TokenEndingNumberAt(std::string_view text, size_t from, size_t max_digits) {
  size_t j = from;
  int value = 0;
  while (j < text.size() && IsDigit(text[j]) && j - from < max_digits)
    value = value * 10 + (text[j++] - '0');
  if (j == from || EndEmbedded(text, j)) return -1;
  if (j + 1 < text.size() && text[j] == '.' && IsDigit(text[j + 1])) return -1;
  return value;
}

// An IPv4 address may be followed by a port ("10.0.0.5:8080") or a CIDR
// prefix ("10.0.0.0/24"); any other separator before a digit continues a
// longer number ("1.2.3.4.5", "1.2.3.4-2").
bool Ipv4EndEmbedded(std::string_view text, size_t end) {
  if (end + 1 < text.size() && text[end] == ':') {
    int port = TokenEndingNumberAt(text, end + 1, 5);
    if (port >= 0 && port <= 65535) return false;
  }
  if (end + 1 < text.size() && text[end] == '/') {
    int prefix = TokenEndingNumberAt(text, end + 1, 2);
    if (prefix >= 0 && prefix <= 32) return false;
  }
  return EndEmbedded(text, end);
}
bool Ipv4EndNotEmbedded(std::string_view text, size_t end) { return !Ipv4EndEmbedded(text, end); }

// Recognizer::end_filter of the validators that begin by rejecting an
// EmbeddedInNumber span (before changing the span).
bool EndNotEmbedded(std::string_view text, size_t end) { return !EndEmbedded(text, end); }

// Separators between the digit groups of `s` (none when empty).
Seps Separators(std::string_view s) {
  Seps seps;
  for (char c : s)
    if (!IsDigit(c)) seps.Add(c);
  return seps;
}

// ---- validators -----------------------------------------------------------

bool ValidateEmail(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  while (!v.empty() && (v[0] == '.' || v[0] == '-' || v[0] == '+')) {
    v.remove_prefix(1);
    ++span->start;
  }
  // user:password@host inside a URL is a credential, not an address.
  for (size_t i = span->start; i > 0 && span->start - i < 256; --i) {
    char c = text[i - 1];
    if (IsSpace(c) || c == '"' || c == '\'' || c == '<') break;
    if (c == '/' && i >= 2 && text[i - 2] == '/') return false;
  }
  size_t at = v.find('@');
  if (at == 0 || at == std::string_view::npos || at > 64 || v.size() > 254) return false;
  std::string_view local = v.substr(0, at);
  if (local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  std::string_view domain = v.substr(at + 1);
  for (std::string_view label : Split(domain, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
  }
  return true;
}

bool ValidateCard(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  std::string_view v = Sub(text, *span);
  Digits d = DigitsOf(v);
  if (d.n < 12 || d.n > 19) return false;
  Seps seps = Separators(v);
  if (!seps.empty()) {
    if (!seps.same) return false;
    // Groups must look like a card's: 4-4-4-x or 4-6-4/5 (the digit-run
    // lengths between separators, counted without storing them).
    size_t count = 0, first3[3] = {0, 0, 0}, prev = 0, n = 0;
    bool middle_four = true;  // every group but the first and last is 4
    auto close = [&] {
      if (count < 3) first3[count] = n;
      if (count >= 2 && prev != 4) middle_four = false;  // group count-1 is a middle one
      prev = n;
      ++count;
      n = 0;
    };
    for (char c : v) {
      if (IsDigit(c)) ++n;
      else close();
    }
    close();
    bool four = first3[0] == 4 && count >= 3 && middle_four;
    bool amex = count == 3 && first3[0] == 4 && first3[1] == 6 &&
                (first3[2] == 4 || first3[2] == 5);
    if (!four && !amex) return false;
  }
  if (!LuhnValid(d.view())) return false;
  if (!CardIssuerValid(d.view())) {
    *score = 0.3;  // Luhn alone: 1 in 10 random numbers pass it
  } else if (!seps.empty()) {
    *score = 0.9;
  }
  // All one digit (0000 0000 ...) is a placeholder, not a card.
  if (d.same) return false;
  return true;
}

bool ValidateIban(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  // The candidate may have absorbed trailing groups of the next word: try
  // the longest prefix ending on a group boundary that validates.
  for (size_t len = v.size(); len >= 15; --len) {
    if (len < v.size() && !(v[len] == ' ')) continue;
    std::string_view cand = v.substr(0, len);
    while (!cand.empty() && cand.back() == ' ') cand.remove_suffix(1);
    if (IbanValid(cand)) {
      span->end = span->start + cand.size();
      return !(span->end < text.size() && IsAlnum(text[span->end]));
    }
  }
  return false;
}

bool ValidateSsn(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  std::string_view v = Sub(text, *span);
  Seps seps = Separators(v);
  if (!(seps.empty() || (seps.n == 2 && seps.same))) return false;
  if (seps.empty()) *score -= 0.25;
  else if (seps.first != '-') *score -= 0.1;
  Digits d = DigitsOf(v);
  return d.fits() && SsnValid(d.view());
}

bool ValidateItin(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  Seps seps = Separators(Sub(text, *span));
  if (!(seps.empty() || (seps.n == 2 && seps.same))) return false;
  if (seps.empty()) *score -= 0.25;
  return true;
}

bool ValidateNhs(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  std::string_view v = Sub(text, *span);
  Seps seps = Separators(v);
  if (!(seps.empty() || (seps.n == 2 && seps.same))) return false;
  Digits d = DigitsOf(v);
  return d.fits() && NhsValid(d.view());
}

bool ValidateNotEmbedded(std::string_view text, Span* span, double* score) {
  return !EmbeddedInNumber(text, *span);
}

bool ValidateIpv4(std::string_view text, Span* span, double* score) {
  if (StartEmbedded(text, span->start) || Ipv4EndEmbedded(text, span->end)) return false;
  // "v1.2.3.4" is a version, not an address.
  if (span->start >= 1 && (text[span->start - 1] == 'v' || text[span->start - 1] == 'V'))
    return false;
  std::string_view v = Sub(text, *span);
  if (!Ipv4Valid(v)) return false;
  if (v == "0.0.0.0") *score -= 0.2;
  return true;
}

bool ValidateIpv6(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  // Strip a trailing ':' that belongs to prose ("address fe80::1:").
  while (v.size() > 2 && v.back() == ':' && v[v.size() - 2] != ':') {
    v.remove_suffix(1);
    --span->end;
  }
  if (span->start > 0 && (IsAlnum(text[span->start - 1]) || text[span->start - 1] == ':'))
    return false;
  if (span->end < text.size() && (IsAlnum(text[span->end]) || text[span->end] == ':'))
    return false;
  size_t colons = 0;
  for (char c : v) colons += c == ':';
  if (colons < 2) return false;
  // A bare "::" or clock-like "12:30::" is not worth reporting.
  size_t hexdigits = 0;
  for (char c : v) hexdigits += IsAlnum(c);
  if (hexdigits < 3) return false;
  return Ipv6Valid(v);
}

// Ipv6Valid (inet_pton) accepts eight groups (seven colons), six groups
// and a dotted quad (six colons), or a "::" form: a region with none of
// these holds no valid address (clock times "10:35:00" are most candidates).
bool Ipv6Possible(std::string_view region) {
  size_t colons = 0;
  for (size_t i = 0; i < region.size(); ++i) {
    if (region[i] != ':') continue;
    if (++colons >= 6 || (i + 1 < region.size() && region[i + 1] == ':')) return true;
  }
  return false;
}

bool ValidateMac(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  Seps seps;
  for (char c : v)
    if (c == ':' || c == '-' || c == '.') seps.Add(c);
  if (!seps.same) return false;
  if (span->end < text.size() && (text[span->end] == ':' || text[span->end] == '-') &&
      span->end + 1 < text.size() && IsAlnum(text[span->end + 1]))
    return false;
  if (span->start > 0 && (text[span->start - 1] == ':' || text[span->start - 1] == '-'))
    return false;
  return true;
}

// Trims prose punctuation from the end of a URL, keeping balanced parens.
bool ValidateUrl(std::string_view text, Span* span, double* score) {
  while (span->end > span->start) {
    char c = text[span->end - 1];
    if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '\'' ||
        c == '"' || c == ']' || c == '}' || c == '>' || c == '*') {
      --span->end;
      continue;
    }
    if (c == ')') {
      std::string_view v = Sub(text, *span);
      int open = 0, close = 0;
      for (char x : v) {
        open += x == '(';
        close += x == ')';
      }
      if (close > open) {
        --span->end;
        continue;
      }
    }
    break;
  }
  std::string_view v = Sub(text, *span);
  size_t scheme = v.find("://");
  if (scheme != std::string_view::npos && v.size() <= scheme + 4) return false;
  if (span->start > 0 && (text[span->start - 1] == '@' || text[span->start - 1] == '.' ||
                          text[span->start - 1] == '/'))
    return false;  // part of an e-mail address or a path
  return v.size() >= 4;
}

bool ValidateBareDomain(std::string_view text, Span* span, double* score) {
  if (!ValidateUrl(text, span, score)) return false;
  if (span->end < text.size() && (text[span->end] == '@' || IsAlnum(text[span->end])))
    return false;
  std::string_view v = Sub(text, *span);
  // "file.py"-like names are excluded by the TLD list; a single-label domain
  // with a short TLD in lower case is common prose ("e.g", "i.e") only with
  // 1-letter labels.
  size_t dot = v.find('.');
  if (dot != std::string_view::npos && dot < 2) return false;
  return true;
}

int TwoDigits(std::string_view s, size_t i) { return (s[i] - '0') * 10 + (s[i + 1] - '0'); }

bool ValidateNumericDate(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  std::string_view v = Sub(text, *span);
  // Only the first three groups and the first two separators decide.
  int parts[3] = {0, 0, 0};
  size_t widths[3] = {0, 0, 0};
  size_t nparts = 0;
  Seps seps;
  auto close = [&](int value, size_t width) {
    if (nparts < 3) {
      parts[nparts] = value;
      widths[nparts] = width;
    }
    ++nparts;
  };
  int cur = 0;
  size_t w = 0;
  for (char c : v) {
    if (IsDigit(c)) {
      // The span may start with a long digit run (the start walks back
      // over digits): saturate instead of overflowing; every value this
      // large compares the same against the ranges below.
      if (cur < 1000000) cur = cur * 10 + (c - '0');
      ++w;
    } else {
      if (c == 'T' || c == ' ') break;
      close(cur, w);
      seps.Add(c);
      cur = 0;
      w = 0;
    }
  }
  close(cur, w);
  if (nparts < 3 || (seps.n >= 2 && seps.second != seps.first)) return false;
  int a = parts[0], b = parts[1], c = parts[2];
  if (widths[0] == 4) {  // Y-M-D
    return a >= 1000 && b >= 1 && b <= 12 && c >= 1 && c <= 31;
  }
  // D/M/Y or M/D/Y
  bool dm = a >= 1 && a <= 31 && b >= 1 && b <= 12;
  bool md = a >= 1 && a <= 12 && b >= 1 && b <= 31;
  if (!dm && !md) return false;
  if (widths[2] == 2 && seps.first == '.') *score -= 0.4;  // "3.9.10" is a version unless context says date
  (void)c;
  return true;
}

bool ValidateTime(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  std::string_view v = Sub(text, *span);
  // "9:30 am." at the end of a sentence: the dot is punctuation unless the
  // suffix is spelled "a.m.".
  if (v.size() >= 3 && v.back() == '.' && v[v.size() - 3] != '.') {
    --span->end;
    v.remove_suffix(1);
  }
  int h = 0;
  size_t i = 0;
  while (i < v.size() && IsDigit(v[i])) h = h * 10 + (v[i++] - '0');
  if (h > 24) return false;
  if (i < v.size() && v[i] == ':') {
    if (i + 2 >= v.size() + 0 && i + 2 > v.size()) return false;
    int m = TwoDigits(v, i + 1);
    if (m > 59) return false;
  } else if (h == 0 || h > 12) {
    return false;  // "13pm"
  }
  return true;
}

bool ValidateYear(std::string_view text, Span* span, double* score) {
  if (EmbeddedInNumber(text, *span)) return false;
  if (span->start > 0) {
    char p = text[span->start - 1];
    if (p == '$' || p == '#' || p == '+' || p == '(' ) return false;
  }
  if (span->end < text.size()) {
    char n = text[span->end];
    if (n == '%' || n == ')' ) return false;
  }
  // A year must not be directly followed by a unit ("2000 mg", "1500 km").
  size_t j = span->end;
  while (j < text.size() && text[j] == ' ') ++j;
  std::string_view after = text.substr(j, 6);
  static constexpr std::string_view kUnits[] = {"mg", "km", "kg", "ms", "mb", "gb", "kb",
                                                "usd", "eur", "ml", "px", "rpm", "lines",
                                                "items", "rows", "users", "bytes", "tokens"};
  std::string low = ToLower(after);
  for (auto u : kUnits) {
    if (low.compare(0, u.size(), u) == 0 &&
        (low.size() == u.size() || !IsAlpha(low[u.size()])))
      return false;
  }
  return true;
}

// `key = value` forms: narrows the span to the value and checks it is not a
// placeholder ("***", "<password>", "${VAR}", "changeme" stays: it is one).
bool NarrowToAssignedValue(std::string_view text, Span* span, size_t min_len) {
  // The regex stops at the first character of the value: extend over the
  // value here (bounded), which keeps the pattern database small.
  // Candidates inside one long run ("password=password=...") share the
  // run's end: remember it so a run is walked once, not once per candidate.
  static thread_local uint64_t run_generation = ~uint64_t{0};
  static thread_local size_t run_from = 0, run_to = 0;
  size_t limit = std::min(text.size(), span->end + 2048);
  if (run_generation == g_scan_generation && span->end >= run_from && span->end <= run_to) {
    span->end = std::min(run_to, limit);
  } else {
    size_t from = span->end;
    while (span->end < limit) {
      char c = text[span->end];
      if (IsSpace(c) || c == '"' || c == '\'' || c == '`' || c == ',' || c == ';' || c == '&')
        break;
      ++span->end;
    }
    g_validator_work += span->end - from;
    if (span->end < limit) {  // a real end, not the bound: reusable
      run_generation = g_scan_generation;
      run_from = from;
      run_to = span->end;
    }
  }
  // `password = os.environ['X']`, `token = get_token()`: code, not a value.
  if (span->end < text.size() && (text[span->end] == '[' || text[span->end] == '(')) return false;
  std::string_view v = Sub(text, *span);
  size_t i = v.size();
  // The value is the last run of non-space, non-quote characters.
  size_t end = i;
  while (end > 0 && (v[end - 1] == '"' || v[end - 1] == '\'' || v[end - 1] == ',' ||
                     v[end - 1] == ';'))
    --end;
  size_t start = end;
  while (start > 0 && !IsSpace(v[start - 1]) && v[start - 1] != '"' && v[start - 1] != '\'' &&
         v[start - 1] != '=' && v[start - 1] != ':' && v[start - 1] != '>')
    --start;
  if (end - start < min_len) return false;
  std::string_view value = v.substr(start, end - start);
  if (value[0] == '$' || value[0] == '<' || value[0] == '{' || value[0] == '%' ||
      value[0] == '(' || value[0] == '[')
    return false;
  std::string low = ToLower(value);
  static constexpr std::string_view kPlaceholders[] = {
      "null", "none", "true", "false", "password", "example", "required", "undefined",
      "process.env", "os.environ", "getenv", "env[", "your_", "xxxx", "****", "...",
      "redacted", "placeholder", "secret", "<", "os.getenv", "config.", "settings."};
  for (auto p : kPlaceholders) {
    if (p == "password" || p == "secret" || p == "null" || p == "none" || p == "true" ||
        p == "false" || p == "required" || p == "undefined" || p == "example" ||
        p == "redacted" || p == "placeholder") {
      if (low == p) return false;
    } else if (low.find(p) != std::string::npos) {
      return false;
    }
  }
  bool all_same = true;
  for (char c : value) all_same &= c == value[0];
  if (all_same) return false;
  span->start += start;
  span->end = span->start + value.size();
  return true;
}

bool ValidatePasswordAssignment(std::string_view text, Span* span, double* score) {
  if (!NarrowToAssignedValue(text, span, 4)) return false;
  std::string_view value = Sub(text, *span);
  // Code such as `password = get_password()` or `pwd=request.form[...]`.
  if (value.find('(') != std::string_view::npos) return false;
  if (value.size() > 128) return false;
  return true;
}

bool ValidatePasswordProse(std::string_view text, Span* span, double* score) {
  if (!NarrowToAssignedValue(text, span, 4)) return false;
  std::string_view value = Sub(text, *span);
  // "my password is strong" — a plain lower-case word is rarely the password.
  bool has_non_lower = false;
  for (char c : value) has_non_lower |= !(c >= 'a' && c <= 'z');
  if (!has_non_lower) *score -= 0.3;
  while (!value.empty() && (value.back() == '.' || value.back() == '?')) {
    value.remove_suffix(1);
    --span->end;
  }
  return value.size() >= 4;
}

// scheme://user:password@host — the span becomes the password.
bool ValidateConnectionPassword(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  size_t scheme = v.find("://");
  if (scheme == std::string_view::npos) return false;
  size_t at = v.rfind('@');
  size_t colon = v.find(':', scheme + 3);
  if (at == std::string_view::npos || colon == std::string_view::npos || colon > at) return false;
  std::string_view pw = v.substr(colon + 1, at - colon - 1);
  if (pw.empty() || pw[0] == '$' || pw[0] == '{' || pw[0] == '<' ||
      pw == "****" || pw == "***")
    return false;
  span->end = span->start + at;
  span->start = span->start + colon + 1;
  return true;
}

bool ValidateSecretToken(std::string_view text, Span* span, double* score) {
  // Key formats end on a word boundary the regex cannot always express.
  if (span->end < text.size() && (IsAlnum(text[span->end]) || text[span->end] == '_'))
    return false;
  std::string_view v = Sub(text, *span);
  if (v.size() > 512) return false;
  // Documentation placeholders: long runs of one character.
  size_t run = 1, max_run = 1;
  for (size_t i = 1; i < v.size(); ++i) {
    run = v[i] == v[i - 1] ? run + 1 : 1;
    if (run > max_run) max_run = run;
  }
  if (max_run >= 8) return false;
  return true;
}

bool ValidateAwsSecret(std::string_view text, Span* span, double* score) {
  if (!NarrowToAssignedValue(text, span, 40)) return false;
  std::string_view v = Sub(text, *span);
  if (v.size() != 40) return false;
  return ShannonEntropy(v) >= 3.5;
}

bool ValidateGenericSecret(std::string_view text, Span* span, double* score) {
  if (!NarrowToAssignedValue(text, span, 16)) return false;
  std::string_view v = Sub(text, *span);
  if (v.size() > 512) return false;
  if (v.find("://") != std::string_view::npos) return false;
  int lower = 0, upper = 0, digit = 0, other = 0;
  for (char c : v) {
    if (c >= 'a' && c <= 'z') ++lower;
    else if (c >= 'A' && c <= 'Z') ++upper;
    else if (IsDigit(c)) ++digit;
    else ++other;
  }
  int classes = (lower > 0) + (upper > 0) + (digit > 0);
  double h = ShannonEntropy(v);
  // Paths, dotted names and identifiers are not secrets.
  if (std::count(v.begin(), v.end(), '.') >= 2 || std::count(v.begin(), v.end(), '/') >= 3)
    return false;
  if (digit == 0 && classes < 2) return false;
  if (classes < 2 && !(digit > 0 && lower > 0)) return false;
  if (h < 3.2) return false;
  if (h >= 4.0) *score += 0.1;
  return true;
}

bool ValidateBearer(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  size_t sp = v.find_first_of(" \t");
  if (sp == std::string_view::npos) return false;
  size_t s = sp;
  while (s < v.size() && IsSpace(v[s])) ++s;
  std::string_view tok = v.substr(s);
  if (tok.size() < 20 || ShannonEntropy(tok) < 3.0) return false;
  span->start += s;
  return true;
}

bool ValidateJwt(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  size_t dot = v.find('.');
  std::string header;
  if (!Base64UrlDecode(v.substr(0, dot), &header)) return false;
  return header.find("\"alg\"") != std::string::npos || header.find("\"typ\"") != std::string::npos;
}

bool ValidatePrivateKey(std::string_view text, Span* span, double* score) {
  // Extend to the END line if present within 64 KiB; otherwise keep the
  // header plus the body that follows (a truncated key is still a leak).
  constexpr size_t kMaxKey = 64 * 1024;
  size_t limit = std::min(text.size(), span->end + kMaxKey);
  // Never look past the next BEGIN line: keeps many headers in one text
  // linear instead of 64 KiB of search each.
  size_t next_begin = text.substr(span->end, limit - span->end).find("-----BEGIN");
  g_validator_work += next_begin == std::string_view::npos ? limit - span->end : next_begin;
  if (next_begin != std::string_view::npos) limit = span->end + next_begin;
  std::string_view rest = text.substr(span->end, limit - span->end);
  size_t end_marker = rest.find("-----END ");
  if (end_marker != std::string_view::npos) {
    size_t close = rest.find("-----", end_marker + 9);
    if (close != std::string_view::npos) {
      span->end += close + 5;
      return true;
    }
  }
  // No END marker: include the base64 body lines that follow.
  size_t i = span->end;
  while (i < limit) {
    char c = text[i];
    if (IsAlnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' || c == ' ' ||
        c == ':' || c == '-' || c == ',')
      ++i;
    else
      break;
  }
  span->end = i;
  while (span->end > span->start && IsSpace(text[span->end - 1])) --span->end;
  return true;
}

bool ValidateBitcoin(std::string_view text, Span* span, double* score) {
  return BitcoinAddressValid(Sub(text, *span));
}

bool ValidateDea(std::string_view text, Span* span, double* score) {
  return DeaValid(Sub(text, *span));
}

// Phone numbers: digit count and grouping decide the score; a candidate
// that swallowed a preceding number ("room 12 555-123-4567") is retried
// without its first group.
// What follows a phone number ending at `end` (false: it continues a
// longer token or number).
bool PhoneEndOk(std::string_view text, size_t end) {
  if (end < text.size()) {
    char n = text[end];
    if (IsAlnum(n) || n == '_' || n == '%' || n == '/') return false;
    if ((n == '.' || n == '-' || n == ':' || n == ',') && end + 1 < text.size() &&
        IsDigit(text[end + 1]))
      return false;
  }
  return true;
}

// The caller (ValidatePhone) has checked PhoneEndOk.
bool ValidatePhoneOnce(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  if (span->start > 0) {
    char p = text[span->start - 1];
    if (IsAlnum(p) || p == '.' || p == '/' || p == '-' || p == ':' || p == '_') return false;
    // "1,234,567" is a number; "...-Office,07700 063 966" is a list of phones.
    if (p == ',' && span->start > 1 && IsDigit(text[span->start - 2])) return false;
  }
  // Split off an extension.
  std::string_view main = v;
  bool ext = false;
  // (A loop: find_first_of makes a memchr call per byte of the span.)
  size_t x = 0;
  while (x < v.size() && (v[x] | 0x20) != 'x' && (v[x] | 0x20) != 'e') ++x;
  if (x == v.size()) x = std::string_view::npos;
  if (x != std::string_view::npos) {
    main = v.substr(0, x);
    while (!main.empty() && (main.back() == ' ' || main.back() == '.')) main.remove_suffix(1);
    ext = true;
  }
  Digits digits = DigitsOf(main);
  bool plus = !main.empty() && main[0] == '+';
  bool intl00 = digits.n > 2 && digits[0] == '0' && digits[1] == '0' && !plus;
  size_t groups = 1, parens = 0;
  Seps dots;  // the separators after a digit group, but spaces and parentheses
  for (size_t i = 0; i < main.size(); ++i) {
    char c = main[i];
    if (c == '(' || c == ')') ++parens;
    if (!IsDigit(c) && c != '+' && i > 0 && IsDigit(main[i - 1])) {
      ++groups;
      if (c != '(' && c != ')' && c != ' ') dots.Add(c);
    }
  }
  if (parens != 0 && parens != 2 && parens != 4) return false;
  if (main.find('/') != std::string_view::npos) return false;  // dates, fractions
  if (digits.n < 7 || digits.n > 15) return false;
  std::string_view d = digits.view();
  if (!dots.same) return false;
  bool dotted = !dots.empty() && dots.first == '.';
  // Dates and version numbers are not phone numbers.
  if (dotted && d.size() <= 8) return false;
  if (plus || intl00) {
    *score = d.size() >= 8 ? 0.75 : 0.4;
  } else if (d.size() == 10 && d[0] >= '2' && d[3] >= '2' && groups >= 2 && groups <= 3) {
    *score = 0.7;  // NANP
  } else if (d.size() == 11 && d[0] == '1' && d[1] >= '2' && groups >= 3) {
    *score = 0.7;  // 1-NANP
  } else if (groups == 1) {
    *score = d.size() == 10 ? 0.4 : 0.2;
  } else if (parens) {
    *score = 0.65;
  } else if (d[0] == '0' && d.size() >= 9) {
    *score = 0.6;  // national trunk prefix
  } else {
    *score = d.size() >= 8 ? 0.5 : 0.35;
  }
  if (ext) *score += 0.1;
  return true;
}

bool ValidatePhone(std::string_view text, Span* span, double* score) {
  // Every attempt below keeps the end: one that cannot end a phone fails
  // them all.
  if (!PhoneEndOk(text, span->end)) return false;
  double base = *score;
  bool found = false;
  double best = -1;
  Span best_span;
  Span cur = *span;
  for (int attempt = 0; attempt < 3; ++attempt) {
    double s = base;
    Span t = cur;
    if (ValidatePhoneOnce(text, &t, &s) && s > best + 1e-9) {
      best = s;
      best_span = t;
      found = true;
    }
    // Retry without the first group ("room 12 555-123-4567").
    size_t i = cur.start;
    while (i < cur.end && (IsDigit(text[i]) || text[i] == '+' || text[i] == '(')) ++i;
    while (i < cur.end && !(IsDigit(text[i]) || text[i] == '+' || text[i] == '(')) ++i;
    if (i >= cur.end || i == cur.start) break;
    cur.start = i;
  }
  if (found) {
    *span = best_span;
    *score = best;
  }
  return found;
}

bool ValidateNrp(std::string_view text, Span* span, double* score) {
  std::string_view v = Sub(text, *span);
  // Lower-case demonyms are often adjectives of languages in code ("english
  // text"); they count, but lower.
  if (!v.empty() && v[0] >= 'a' && v[0] <= 'z') *score -= 0.15;
  // Part of a country's name ("Czech Republic", "Dominican Republic",
  // "Solomon Islands"): a place, not a nationality.
  size_t i = span->end;
  while (i < text.size() && i < span->end + 3 && (text[i] == ' ' || text[i] == '\t')) ++i;
  std::string_view next = text.substr(i, 12);
  for (std::string_view place : {"Republic", "Federation", "Islands", "Island", "Emirates",
                                 "Kingdom", "States", "Union", "Confederation"})
    if (next.substr(0, place.size()) == place) return false;
  return true;
}

// ---- the table ------------------------------------------------------------

#define MONTHS                                                                                 \
  "(?:january|february|march|april|may|june|july|august|september|october|november|december|" \
  "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
#define WEEKDAYS "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"

const std::vector<std::string_view> kPhoneContext = {
    "phone", "tel", "telephone", "mobile", "cell", "call", "fax", "contact", "number",
    "reach", "dial", "whatsapp", "sms", "text me", "ring", "landline", "ph", "office", "desk"};
const std::vector<std::string_view> kLicenseContext = {"license", "licence", "dl", "dln",
                                                        "driving permit"};
const std::vector<std::string_view> kCardContext = {
    "card", "credit", "debit", "visa", "mastercard", "amex", "american express", "discover",
    "cc", "payment", "pay", "charge", "billing", "maestro", "jcb", "diners", "cvv", "expiry"};
const std::vector<std::string_view> kNumberNegative = {
    "order", "tracking", "invoice", "ref", "reference", "transaction", "sku", "isbn", "serial",
    "ticket", "build", "version", "shipment", "parcel", "receipt", "id", "issue", "case", "po"};

}  // namespace

const std::vector<Recognizer>& PatternRecognizers() {
  static const std::vector<Recognizer> kTable = {
      // --- contact ---
      {"EMAIL_ADDRESS",
       R"([A-Za-z0-9._%+\-\x80-\xff]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b)", false, 1.0,
       0, ValidateEmail, {}, {}},
      {"PHONE_NUMBER",
       R"((?:\+\d{1,3}[\s.\-]?|\b00\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?|\b\d{1,5}[\s.\-]?)(?:\(0\)\s?)?(?:\d{1,5}[\s.\-]?){0,4}\d{2,}(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?\b)",
       true, 0.5, 0.8, ValidatePhone, kPhoneContext, {"order", "invoice", "isbn", "serial", "version", "id", "zip", "postal", "postcode", "code"}},
      {"URL", R"(\b(?:https?|ftp|wss?)://[^\s<>"'`\\\x00-\x1f\x7f]+)", true, 0.85, 0,
       ValidateUrl, {}, {}},
      {"URL", R"(\bwww\.[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+(?:[/?#][^\s<>"'`\x00-\x1f]*)?)", true,
       0.8, 0, ValidateUrl, {}, {}},
      {"URL",
       R"(\b[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*\.(?:com|org|net|edu|gov|io|ai|co|uk|de|fr|es|it|nl|se|no|dk|fi|ch|at|be|cy|us|ca|au|jp|cn|ru|br|in|info|biz|app|dev|cloud|tech|online|site|xyz|me|tv|eu|pl|cz|gr|pt|ie|nz|za|mx|ar|hu|ro|sk|si|hr|lt|lv|ee|is|ly)\b(?:/[^\s<>"'`\x00-\x1f]*)?)",
       false, 0.55, 0.8, ValidateBareDomain, {"website", "site", "domain", "visit", "url", "link", "homepage", "web"}, {}},
      // --- financial ---
      {"CREDIT_CARD", R"(\b\d{4}(?:[ \-]?\d{2,7}){1,4}\b)", false, 0.75, 1.0, ValidateCard,
       kCardContext, kNumberNegative},
      {"IBAN_CODE", R"(\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\b)",
       false, 0.95, 1.0, ValidateIban, {"iban", "bank", "account", "transfer", "sepa"}, {}},
      {"US_BANK_NUMBER", R"(\b\d{8,17}\b)", false, 0.05, 0.6, ValidateNotEmbedded,
       {"bank account", "account number", "acct", "account no", "checking", "savings", "bank",
        "routing", "deposit"},
       {}},
      {"CRYPTO", R"(\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b)", false, 1.0, 0, ValidateBitcoin, {}, {}},
      {"CRYPTO", R"(\b(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}\b)", false, 1.0, 0,
       ValidateBitcoin, {}, {}},
      // --- government ids ---
      // 3-2-4 is the SSN shape; phone numbers are rarely grouped that way,
      // so an SSN-valid 3-2-4 number beats the generic phone score.
      {"US_SSN", R"(\b\d{3}[\- .]?\d{2}[\- .]?\d{4}\b)", false, 0.65, 1.0, ValidateSsn,
       {"ssn", "social security", "social", "ss#", "ss #", "ssns"}, {"phone", "tel", "fax", "order", "zip"}},
      {"US_ITIN",
       R"(\b9\d{2}[\- ]?(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9])[\- ]?\d{4}\b)", false, 0.6, 1.0,
       ValidateItin, {"itin", "taxpayer", "tax id", "individual taxpayer", "tax"}, {}},
      {"US_PASSPORT", R"(\b[A-Z]?\d{8,9}\b)", false, 0.1, 0.9, ValidateNotEmbedded,
       {"passport", "travel document", "passport number", "passport no", "passport#"}, {}},
      // A licence or passport word is specific evidence: it outranks the
      // generic "number" that makes a digit run a phone (0.8). "driver"
      // alone is not ("call the driver at ...").
      {"US_DRIVER_LICENSE", R"(\b[A-Z]{1,2}\d{4,14}\b)", false, 0.1, 0.9, ValidateNotEmbedded,
       kLicenseContext, {}},
      {"US_DRIVER_LICENSE", R"(\b\d{3,4}-\d{2,3}-\d{3,4}\b|\b\d{6,13}\b)", false, 0.05, 0.9,
       ValidateNotEmbedded, kLicenseContext,
       {"phone", "ssn", "social", "call", "tel", "mobile", "cell", "fax"}},
      {"UK_NHS", R"(\b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b)", false, 0.5, 1.0, ValidateNhs,
       {"nhs", "national health", "health service", "nhs number", "patient"}, {}},
      {"MEDICAL_LICENSE", R"(\b[ABCDEFGHJKLMPRSTUXabcdefghjklmprstux][A-Za-z9]\d{7}\b)", false,
       0.75, 1.0, ValidateDea, {"dea", "license", "medical", "registration", "prescriber"}, {}},
      // --- network ---
      {"IP_ADDRESS", R"(\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)", false, 0.9, 1.0, ValidateIpv4,
       {"ip", "address", "host", "server", "client", "ipv4", "addr", "src", "dst"},
       {"version", "release", "build", "v", "ver", "firmware", "package", "sdk", "node", "chrome",
        "python", "java", "kernel", "update", "upgrade", "patch", "oid", "section", "chapter",
        "figure", "table", "rule", "clause"}},
      {"IP_ADDRESS",
       R"((?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?)",
       false, 0.9, 1.0, ValidateIpv6, {"ip", "ipv6", "address", "host"}, {}},
      {"MAC_ADDRESS", R"(\b[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}\b)", false, 0.9, 1.0,
       ValidateMac, {"mac", "ethernet", "hardware", "wifi", "interface"}, {}},
      {"MAC_ADDRESS", R"(\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b)", false, 0.85, 1.0,
       ValidateMac, {"mac"}, {}},
      // --- dates and times ---
      {"DATE_TIME",
       R"(\b\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b)",
       false, 0.9, 1.0, ValidateNumericDate, {}, {}},
      {"DATE_TIME", R"(\b\d{1,2}[\-/.]\d{1,2}[\-/.](?:\d{4}|\d{2})(?:,?\s\d{1,2}:\d{2}(?::\d{2})?)?\b)",
       false, 0.75, 0.95, ValidateNumericDate, {"date", "dated", "dob", "born", "birth", "due", "since", "until", "expires", "expiry"},
       {"version", "v", "ip", "python", "node", "release", "build", "run", "sdk"}},
      {"DATE_TIME", R"(\b)" MONTHS R"(\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b)", true, 0.9, 0,
       ValidateNotEmbedded, {}, {}},
      {"DATE_TIME",
       R"(\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)" MONTHS R"(\b\.?(?:,?\s+\d{4})?\b)", true,
       0.9, 0, ValidateNotEmbedded, {}, {}},
      {"DATE_TIME", R"(\b)" MONTHS R"(\.?,?\s+\d{4}\b)", true, 0.9, 0, ValidateNotEmbedded, {}, {}},
      {"DATE_TIME", R"(\b)" WEEKDAYS R"(s?\b)", true, 0.88, 0, nullptr, {}, {}},
      {"DATE_TIME", R"(\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\b\.?)?)", true, 0.7, 0.9,
       ValidateTime, {"at", "time", "meeting", "call"}, {}},
      {"DATE_TIME", R"(\b\d{1,2}\s?[ap]\.?m\b\.?)", true, 0.88, 0, ValidateTime, {}, {}},
      {"DATE_TIME", R"(\b(?:1[5-9]|20)\d{2}\b)", false, 0.55, 0.8, ValidateYear,
       {"in", "since", "year", "founded", "born", "from", "until", "by", "established", "of", "during", "circa", "since", "between", "and", "before", "after"},
       {"port", "room", "page", "pages", "step", "code", "error", "line", "pin", "#", "number", "no", "id", "price", "cost", "total", "usd", "items", "units", "version", "status", "http"}},
      {"DATE_TIME", R"(\b(?:the\s+)?(?:1[5-9]|20)\d0s\b)", true, 0.7, 0, nullptr, {}, {}},
      {"DATE_TIME",
       R"(\b(?:yesterday|today|tonight|tomorrow|(?:last|next|this)\s+(?:week|month|year|weekend|morning|evening|night|monday|tuesday|wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|fall|winter)|\d{1,3}\s+(?:days?|weeks?|months?|years?)\s+ago)\b)",
       // Relative days rarely identify anyone: reported only when the caller
       // lowers min_score below the default 0.5.
       true, 0.45, 0, nullptr, {}, {}},
      // --- nationality, religion, politics ---
      // The word list is generated by tools/scan/gen_nrp.js: demonyms of
      // i18n-nationality (MIT; place names left out), plus the tool's
      // hand-written demonyms, ethnic, religious and political groups.
      {"NRP",
       R"(\b(?:equatorial guinean|african american|democratic party|republican party|solomon islander|central african|liechtensteiner|sierra leonean|east timorese|herzegovinian|luxembourgish|new zealander|south african|cape verdean|conservative|labour party|luxembourger|north korean|saint lucian|san marinese|south korean|argentinean|argentinian|azerbaijani|bangladeshi|cameroonian|costa rican|evangelical|green party|greenlander|kazakhstani|libertarian|marshallese|mauritanian|micronesian|montenegrin|palestinian|seychellois|singaporean|surinameses|uzbekistani|australian|belarusian|ecuadorean|guatemalan|indonesian|lithuanian|macedonian|mozambican|nicaraguan|panamanian|paraguayan|portuguese|protestant|republican|salvadoran|sao tomean|senegalese|sri lankan|surinamese|venezuelan|vietnamese|zimbabwean|antiguans|argentine|barbadian|bhutanese|brazilian|bulgarian|burkinabe|burundian|cambodian|caucasian|christian|colombian|communist|ethiopian|grenadian|hungarian|icelandic|jordanian|malaysian|mauritian|methodist|mongolian|norwegian|pakistani|slovakian|slovenian|socialist|surinamer|taiwanese|tanzanian|ukrainian|uruguayan|agnostic|albanian|algerian|american|andorran|anglican|armenian|austrian|bahamian|bahraini|batswana|belizean|beninese|bolivian|bruneian|buddhist|canadian|catholic|croatian|democrat|egyptian|eritrean|estonian|filipino|gabonese|georgian|ghanaian|guyanese|hispanic|honduran|jamaican|japanese|lebanese|liberian|lutheran|malagasy|malawian|maldivan|moldovan|moroccan|namibian|nepalese|nigerian|nigerien|orthodox|peruvian|romanian|scottish|sudanese|togolese|tunisian|tuvaluan|yemenite|angolan|atheist|baptist|belgian|bosnian|british|burmese|catalan|chadian|chechen|chilean|chinese|comoran|cypriot|emirian|english|finnish|flemish|gambian|guinean|haitian|iranian|israeli|italian|ivorian|kurdish|kuwaiti|laotian|latvian|liberal|maltese|mexican|monacan|mosotho|nauruan|palauan|russian|rwandan|serbian|spanish|swedish|tibetan|turkish|ugandan|walloon|zambian|afghan|basque|danish|fijian|french|german|indian|jewish|kazakh|kenyan|korean|kyrgyz|latina|latino|libyan|malian|mormon|muslim|polish|qatari|romani|samoan|slovak|somali|syrian|tongan|asian|cuban|czech|dutch|greek|hindu|iraqi|irish|maori|omani|saudi|sunni|swazi|swiss|tajik|uzbek|welsh|arab|kurd|manx|shia|sikh|thai|tory|jew)s?\b)",
       // A language sense ("studying English", "translate into German") is
       // no NRP. (Below the names model's 0.85: a demonym that is also a
       // first name, "Christian", stays a PERSON when the model says so.)
       true, 0.7, 0, ValidateNrp, {},
       {"speak", "speaks", "spoke", "speaking", "language", "languages", "translate",
        "translated", "translation", "into", "studying", "studied", "study", "fluent", "lessons",
        "course", "subtitles", "dictionary", "grammar"}},
      // --- secrets ---
      {"AWS_ACCESS_KEY", R"(\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b)", false, 0.95, 1.0,
       ValidateSecretToken, {"aws", "access", "key"}, {}},
      {"AWS_SECRET_KEY",
       R"(\baws[A-Za-z0-9_\-.]*(?:secret|sk)[A-Za-z0-9_\-.]*['"]?\s*(?:[:=]|=>|:=)\s*['"]?[A-Za-z0-9/+=])",
       true, 0.95, 0, ValidateAwsSecret, {}, {}},
      {"GITHUB_TOKEN", R"(\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b)", false, 0.99, 0,
       ValidateSecretToken, {}, {}},
      {"GITHUB_TOKEN", R"(\bgithub_pat_[A-Za-z0-9_]{60,}\b)", false, 0.99, 0,
       ValidateSecretToken, {}, {}},
      {"GITLAB_TOKEN", R"(\b(?:glpat|gldt|glrt|glptt|glsoat|glcbt|glffct|glimt|glagent)-[A-Za-z0-9_\-]{20,64})",
       false, 0.99, 0, ValidateSecretToken, {}, {}},
      {"GITLAB_TOKEN", R"(\bGR1348941[A-Za-z0-9_\-]{20,64})", false, 0.95, 0, ValidateSecretToken,
       {}, {}},
      {"SLACK_TOKEN", R"(\bxox[abposre]-(?:\d+-)?[A-Za-z0-9\-]{10,})", false, 0.99, 0,
       ValidateSecretToken, {}, {}},
      {"SLACK_TOKEN", R"(\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+\b)", false, 0.99, 0,
       ValidateSecretToken, {}, {}},
      {"SLACK_TOKEN",
       R"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,120})", true,
       0.99, 0, ValidateSecretToken, {}, {}},
      {"STRIPE_KEY", R"(\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}\b)", false, 0.99, 0,
       ValidateSecretToken, {}, {}},
      {"GOOGLE_API_KEY", R"(\bAIza[0-9A-Za-z_\-]{35})", false, 0.99, 0, ValidateSecretToken, {},
       {}},
      {"OPENAI_API_KEY",
       R"(\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})",
       false, 0.99, 0, ValidateSecretToken, {}, {}},
      {"OPENAI_API_KEY", R"(\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,})", false, 0.95, 0,
       ValidateSecretToken, {}, {}},
      {"OPENAI_API_KEY", R"(\bsk-[A-Za-z0-9]{48}\b)", false, 0.9, 0, ValidateSecretToken, {}, {}},
      {"PRIVATE_KEY", R"(-----BEGIN[ A-Z0-9]{0,40} PRIVATE KEY(?: BLOCK)?-----)", false, 1.0, 0,
       ValidatePrivateKey, {}, {}},
      {"JWT", R"(\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*)", false, 0.95,
       0, ValidateJwt, {}, {}},
      {"PASSWORD",
       R"(\b[A-Za-z0-9_.\-]*(?:password|passwd|pwd|passphrase|pass)['"]?\s*(?::=|=>|[:=])\s*['"]?[^\s'"])",
       true, 0.85, 0, ValidatePasswordAssignment, {}, {}},
      {"PASSWORD", R"(\b(?:password|passcode|passphrase|pwd)\s+(?:is|was|will be)\s*:?\s+['"]?[^\s'"]{4,64})", true,
       0.8, 0, ValidatePasswordProse, {}, {}},
      {"PASSWORD",
       R"(\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@'"]{1,64}:[^\s@/'"]{1,128}@[A-Za-z0-9.\-_]{1,255})",
       false, 0.95, 0, ValidateConnectionPassword, {}, {}},
      {"GENERIC_SECRET",
       R"(\b[A-Za-z0-9_.\-]*(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|credential|private[_\-]?key|client[_\-]?secret|signing[_\-]?key|encryption[_\-]?key|session[_\-]?key|webhook)[A-Za-z0-9_.\-]*['"]?\s*(?::=|=>|[:=])\s*['"]?[A-Za-z0-9_\-+/=.~])",
       true, 0.7, 0, ValidateGenericSecret, {}, {}},
      {"GENERIC_SECRET", R"(\bbearer\s+[A-Za-z0-9_\-.=+/~]{20,})", true, 0.75, 0,
       ValidateBearer, {}, {}},
      // --- postal addresses with a fixed grammar (appended: indices above
      // are referenced by WithStartRules) ---
      // US military mail (USPS Publication 28, 225): "PSC 1437, Box 3833
      // APO AA 66791", "Unit 8505 Box 9220 DPO AE 90744", "USNS Botolen
      // FPO AP 12382". Scored above the names model's 0.85 cap, so the
      // whole address wins over a partial PERSON/LOCATION guess.
      {"LOCATION",
       R"(\b(?:PSC|CMR|Unit)\s{1,4}\d{1,5},?\s{1,4}Box\s{1,4}\d{1,5},?\s{1,4}[AFD]PO\s{1,4}A[AEP]\s{1,4}\d{5}\b)",
       true, 0.9, 0, nullptr, {}, {}},
      {"LOCATION",
       R"(\b(?:USNS|USS|USNV|USCGC)\s{1,4}[^\s,]{2,40}(?:\s[^\s,]{2,40})?,?\s{1,4}FPO\s{1,4}A[AEP]\s{1,4}\d{5}\b)",
       true, 0.9, 0, nullptr, {}, {}},
  };
  return kTable;
}

namespace {
// Start rules for the dense patterns (see StartRule); every other
// recognizer uses a leftmost-start window re-scan.
std::vector<Recognizer> WithStartRules(std::vector<Recognizer> t) {
  constexpr const char* kDigitSep = "0123456789 -.()+/";
  constexpr const char* kAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr const char* kHexColon = "0123456789ABCDEFabcdef:.";
  constexpr const char* kHexMac = "0123456789ABCDEFabcdef:-.";
  struct Rule {
    size_t index;
    std::string_view type;
    StartRule rule;
    const char* charset;
    size_t max_len;
    size_t min_digits;  // the validator's own minimum (see Recognizer)
    bool (*region_filter)(std::string_view) = nullptr;
    char region_byte = 0;
  };
  const Rule rules[] = {
      {1, "PHONE_NUMBER", StartRule::kCharset, "0123456789 -.()+xXet", 28, 7},
      {5, "CREDIT_CARD", StartRule::kCharset, kDigitSep, 24, 12},
      {7, "US_BANK_NUMBER", StartRule::kCharset, kAlnum, 17, 0},
      {10, "US_SSN", StartRule::kCharset, kDigitSep, 11, 9},
      {11, "US_ITIN", StartRule::kCharset, kDigitSep, 11, 0},
      {12, "US_PASSPORT", StartRule::kCharset, kAlnum, 10, 0},
      {13, "US_DRIVER_LICENSE", StartRule::kCharset, kAlnum, 16, 0},
      {14, "US_DRIVER_LICENSE", StartRule::kCharset, "0123456789-", 13, 0},
      {15, "UK_NHS", StartRule::kCharset, kDigitSep, 12, 10},
      {17, "IP_ADDRESS", StartRule::kCharset, "0123456789.", 15, 0},
      {18, "IP_ADDRESS", StartRule::kCharset, kHexColon, 45, 0, Ipv6Possible, ':'},
      {19, "MAC_ADDRESS", StartRule::kCharset, kHexMac, 17, 0},
      {20, "MAC_ADDRESS", StartRule::kCharset, kHexMac, 14, 0},
      {21, "DATE_TIME", StartRule::kCharset, "0123456789-/. :TZ+", 32, 0},
      {22, "DATE_TIME", StartRule::kCharset, "0123456789-/. ,:", 20, 0},
      {29, "DATE_TIME", StartRule::kFixed, "", 4, 0},
  };
  // Validators whose first step rejects an EmbeddedInNumber span, with
  // the span as given: an end that continues a number fails every span.
  for (Recognizer& r : t) {
    for (Validator v : {ValidateCard, ValidateSsn, ValidateItin, ValidateNhs, ValidateNotEmbedded,
                        ValidateNumericDate, ValidateTime, ValidateYear})
      if (r.validate == v) r.end_filter = EndNotEmbedded;
    if (r.validate == ValidateIpv4) r.end_filter = Ipv4EndNotEmbedded;
  }
  for (const Rule& r : rules) {
    if (r.index >= t.size() || t[r.index].type != r.type) std::abort();  // table drifted
    t[r.index].start = r.rule;
    t[r.index].charset = r.charset;
    t[r.index].max_len = r.max_len;
    t[r.index].min_digits = r.min_digits;
    t[r.index].region_filter = r.region_filter;
    t[r.index].region_byte = r.region_byte;
  }
  return t;
}
}  // namespace

const std::vector<Recognizer>& Recognizers() {
  static const std::vector<Recognizer> kWithRules = WithStartRules(PatternRecognizers());
  return kWithRules;
}

}  // namespace steward::scan
