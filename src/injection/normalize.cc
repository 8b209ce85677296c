#include "injection/normalize.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// How the work is laid out (two passes over the text, both linear):
//   A. CleanToUtf8: UTF-8 decoding, the NFKC subset, accent stripping and
//      invisible-character removal (steps 1+2) into a per-thread buffer, still
//      UTF-8 and case preserved. Printable ASCII is copied sixteen bytes at a
//      time; only bytes >= 0x80 go through the decoding and mapping tables.
//   B. FoldPass: one walk over the cleaned text, a word at a time, that
//      lower-cases, collapses whitespace, folds look-alikes (only in words with
//      non-ASCII bytes), folds leetspeak (only in words with leet characters),
//      counts rot13 function words, measures the odd-token shape and notes
//      whether any encoded segment could be present (a %XX escape, a base64
//      alphabet run of >= 16, a hex-pair sequence of >= 12 hex digits).
// The exact decoder (FindEncodedSegments) and the spaced-letter joiner run
// only when those gates say they could change something. The output is
// byte-identical to the earlier ten-pass normaliser; normalize_equivalence_test
// compares the two on the datasets, the repository's examples and generated
// obfuscations.

namespace steward::injection {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Byte classes, looked up instead of chains of comparisons in the
// per-character loops.
enum ByteClass : uint16_t {
  kClsLetter = 1 << 0,        // A-Z a-z
  kClsSep = 1 << 1,           // separators of spaced-out letters: " .-_*"
  kClsB64 = 1 << 2,           // base64 / base64url alphabet
  kClsOddSymbol = 1 << 3,     // symbols typical of adversarial suffixes
  kClsTokenSpace = 1 << 4,    // ' ' '\n' '\t' '\r'
  kClsLower = 1 << 5,         // a-z
  kClsRot13Initial = 1 << 6,  // first letters of the rot13 function words
  kClsHex = 1 << 7,           // 0-9 a-f A-F
  kClsUpper = 1 << 8,         // A-Z
  kClsHigh = 1 << 9,          // 0x80-0xFF: part of a multi-byte character
  kClsLeet = 1 << 10,         // characters leetspeak writes letters with
  kClsHexSeq = 1 << 11,       // what a hex-pair sequence is made of: hex digits, 'x', '\', ',', ' '
  kClsPercent = 1 << 12,      // '%'
};

constexpr auto kByteClass = [] {
  std::array<uint16_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kClsLetter | kClsB64 | kClsLower;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kClsLetter | kClsB64 | kClsUpper;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kClsB64;
  for (unsigned char c : std::string_view("+/-_")) t[c] |= kClsB64;
  for (unsigned char c : std::string_view(" .-_*")) t[c] |= kClsSep;
  for (unsigned char c : std::string_view("[]{}()^$=|~\\`<>")) t[c] |= kClsOddSymbol;
  for (unsigned char c : std::string_view(" \n\t\r")) t[c] |= kClsTokenSpace;
  for (unsigned char c : std::string_view("bcefglnqv")) t[c] |= kClsRot13Initial;
  for (unsigned char c : std::string_view("0123456789abcdefABCDEF")) t[c] |= kClsHex;
  for (int c = 0x80; c <= 0xFF; ++c) t[c] |= kClsHigh;
  for (unsigned char c : std::string_view("0134578@$!")) t[c] |= kClsLeet;
  for (unsigned char c : std::string_view("0123456789abcdefABCDEFx\\, ")) t[c] |= kClsHexSeq;
  t['%'] |= kClsPercent;
  return t;
}();

// ASCII lower-casing; bytes >= 0x80 are left alone.
constexpr auto kLowerByte = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return t;
}();

constexpr auto kHexValue = [] {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}();

// Class of a character (0 outside ASCII).
inline uint16_t ClassOf(char32_t c) { return c < 0x80 ? kByteClass[c] : 0; }
inline uint16_t ClassOf(char c) { return kByteClass[static_cast<unsigned char>(c)]; }
// ---------------------------------------------------------------------------
// UTF-8

// Decodes one code point at s[i], advancing i. Invalid sequences (overlongs,
// surrogates, truncation, > U+10FFFF) consume one byte and yield U+FFFD.
char32_t DecodeOne(std::string_view s, size_t& i, bool* invalid) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    ++i;
    *invalid = true;
    return kReplacement;
  }
  if (i + len > s.size()) {
    ++i;
    *invalid = true;
    return kReplacement;
  }
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      *invalid = true;
      return kReplacement;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    *invalid = true;
    return kReplacement;
  }
  i += len;
  return cp;
}

// ---------------------------------------------------------------------------
// Step 1+2: compatibility folding, accent stripping, invisible removal.

// Latin-1 Supplement U+00C0..U+00FF and Latin Extended-A U+0100..U+017F
// without their diacritics ('?' = multi-letter, handled separately; '*' =
// not a letter, kept).
constexpr std::string_view kLatin1Base =
    "AAAAAA?CEEEEIIIIDNOOOOO*OUUUUY??aaaaaa?ceeeeiiiidnooooo*ouuuuy?y";
constexpr std::string_view kLatinExtABase =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi??JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo??"
    "RrRrRrSsSsSs"
    "SsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

bool IsDropped(char32_t c, uint32_t* flags) {
  switch (c) {
    case 0x200B:
    case 0x200C:
    case 0x200D:
    case 0x2060:
    case 0x2061:
    case 0x2062:
    case 0x2063:
    case 0x2064:
    case 0xFEFF:
    case 0x00AD:
    case 0x180E:
    case 0x115F:
    case 0x1160:
    case 0x3164:
    case 0xFFA0:
    case 0x17B4:
    case 0x17B5:
      *flags |= kFlagZeroWidth;
      return true;
    case 0x200E:
    case 0x200F:
    case 0x061C:
    case 0x202A:
    case 0x202B:
    case 0x202C:
    case 0x202D:
    case 0x202E:
    case 0x2066:
    case 0x2067:
    case 0x2068:
    case 0x2069:
      *flags |= kFlagBidi;
      return true;
    default:
      break;
  }
  // Combining marks (accents after decomposition), variation selectors.
  if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
      (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
      (c >= 0xFE20 && c <= 0xFE2F) || (c >= 0xFE00 && c <= 0xFE0F) ||
      (c >= 0xE0100 && c <= 0xE01EF)) {
    return true;
  }
  return false;
}

bool IsSpace(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Appends the compatibility/ASCII form of `c` to `out` (anything with
// push_back(char32_t)).
template <typename Out>
void AppendClean(Out& out, char32_t c, uint32_t* flags) {
  if (c < 0x80) {
    if (c < 0x20 || c == 0x7F) {
      out.push_back(IsSpace(c) ? ' ' : ' ');
    } else {
      out.push_back(c);
    }
    return;
  }
  if (IsDropped(c, flags)) return;
  if (IsSpace(c)) {
    out.push_back(' ');
    return;
  }
  if (c < 0xA0) {  // C1 controls
    out.push_back(' ');
    return;
  }
  auto push_str = [&](std::string_view s) {
    for (char ch : s) out.push_back(static_cast<unsigned char>(ch));
  };
  if (c >= 0xC0 && c <= 0xFF) {
    char b = kLatin1Base[c - 0xC0];
    if (b == '*') {
      out.push_back(c);
    } else if (b == '?') {
      switch (c) {
        case 0xC6:
          push_str("AE");
          break;
        case 0xE6:
          push_str("ae");
          break;
        case 0xDE:
          push_str("TH");
          break;
        case 0xFE:
          push_str("th");
          break;
        default:
          push_str("ss");
          break;  // U+00DF
      }
    } else {
      out.push_back(static_cast<unsigned char>(b));
    }
    return;
  }
  if (c >= 0x100 && c <= 0x17F) {
    char b = kLatinExtABase[c - 0x100];
    if (b == '?') {
      switch (c) {
        case 0x132:
          push_str("IJ");
          break;
        case 0x133:
          push_str("ij");
          break;
        case 0x152:
          push_str("OE");
          break;
        default:
          push_str("oe");
          break;  // U+0153
      }
    } else {
      out.push_back(static_cast<unsigned char>(b));
    }
    return;
  }
  // Unicode tag characters ("ASCII smuggling"): invisible copies of ASCII.
  if (c >= 0xE0020 && c <= 0xE007E) {
    *flags |= kFlagZeroWidth;
    out.push_back(c - 0xE0000);
    return;
  }
  if (c >= 0xE0000 && c <= 0xE007F) {
    *flags |= kFlagZeroWidth;
    return;
  }
  // Fullwidth ASCII.
  if (c >= 0xFF01 && c <= 0xFF5E) {
    *flags |= kFlagCompat;
    out.push_back(c - 0xFEE0);
    return;
  }
  // Mathematical alphanumeric symbols: 13 Latin styles of 52 letters, digits.
  if (c >= 0x1D400 && c <= 0x1D6A3) {
    *flags |= kFlagCompat;
    uint32_t idx = (c - 0x1D400) % 52;
    out.push_back(idx < 26 ? U'A' + idx : U'a' + (idx - 26));
    return;
  }
  if (c == 0x1D6A4 || c == 0x1D6A5) {
    *flags |= kFlagCompat;
    out.push_back(c == 0x1D6A4 ? U'i' : U'j');
    return;
  }
  if (c >= 0x1D7CE && c <= 0x1D7FF) {
    *flags |= kFlagCompat;
    out.push_back(U'0' + (c - 0x1D7CE) % 10);
    return;
  }
  // Enclosed alphanumerics.
  struct Range {
    char32_t first, last, base;
  };
  static constexpr Range kLetterRanges[] = {
      {0x24B6, 0x24CF, U'A'},   {0x24D0, 0x24E9, U'a'},   {0x249C, 0x24B5, U'a'},
      {0x1F130, 0x1F149, U'A'}, {0x1F150, 0x1F169, U'A'}, {0x1F170, 0x1F189, U'A'},
      {0x1F1E6, 0x1F1FF, U'a'}, {0x2460, 0x2468, U'1'},   {0x2474, 0x247C, U'1'},
      {0x2488, 0x2490, U'1'},   {0x2080, 0x2089, U'0'},   {0x2070, 0x2070, U'0'},
      {0x2074, 0x2079, U'4'},   {0xFF10, 0xFF19, U'0'}};
  for (const Range& r : kLetterRanges) {
    if (c >= r.first && c <= r.last) {
      *flags |= kFlagCompat;
      out.push_back(r.base + (c - r.first));
      return;
    }
  }
  switch (c) {
    case 0x24EA:
      out.push_back('0');
      return;
    case 0xB9:
      out.push_back('1');
      return;
    case 0xB2:
      out.push_back('2');
      return;
    case 0xB3:
      out.push_back('3');
      return;
    case 0x2071:
      out.push_back('i');
      return;
    case 0x207F:
      out.push_back('n');
      return;
    case 0xFB00:
      push_str("ff");
      return;
    case 0xFB01:
      push_str("fi");
      return;
    case 0xFB02:
      push_str("fl");
      return;
    case 0xFB03:
      push_str("ffi");
      return;
    case 0xFB04:
      push_str("ffl");
      return;
    case 0xFB05:
    case 0xFB06:
      push_str("st");
      return;
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x2032:
    case 0x02BC:
      out.push_back('\'');
      return;
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x2033:
    case 0xAB:
    case 0xBB:
      out.push_back('"');
      return;
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:
    case 0x2212:
      out.push_back('-');
      return;
    case 0x2026:
      push_str("...");
      return;
    case 0x2122:
      push_str("tm");
      return;
    case 0x2044:
    case 0x2215:
      out.push_back('/');
      return;
    case 0xFE64:
      out.push_back('<');
      return;
    case 0xFE65:
      out.push_back('>');
      return;
    case 0x3008:
    case 0x2039:
      out.push_back('<');
      return;
    case 0x3009:
    case 0x203A:
      out.push_back('>');
      return;
    case 0x2102:
      out.push_back('C');
      return;
    case 0x210A:
      out.push_back('g');
      return;
    case 0x210B:
    case 0x210C:
    case 0x210D:
      out.push_back('H');
      return;
    case 0x210E:
      out.push_back('h');
      return;
    case 0x2110:
    case 0x2111:
      out.push_back('I');
      return;
    case 0x2112:
      out.push_back('L');
      return;
    case 0x2113:
      out.push_back('l');
      return;
    case 0x2115:
      out.push_back('N');
      return;
    case 0x2119:
      out.push_back('P');
      return;
    case 0x211A:
      out.push_back('Q');
      return;
    case 0x211B:
    case 0x211C:
    case 0x211D:
      out.push_back('R');
      return;
    case 0x2124:
      out.push_back('Z');
      return;
    case 0x212F:
      out.push_back('e');
      return;
    case 0x2134:
      out.push_back('o');
      return;
    default:
      break;
  }
  out.push_back(c);
}

// ---------------------------------------------------------------------------
// Step 4: case and confusable folding.

inline bool IsAsciiLetter(char32_t c) { return (ClassOf(c) & kClsLetter) != 0; }
bool IsCyrillicOrGreek(char32_t c) {
  return (c >= 0x0370 && c <= 0x03FF) || (c >= 0x0400 && c <= 0x052F);
}
// Latin letters outside ASCII that only exist as look-alikes (small capitals,
// dotless i ...). Always folded: the script is already Latin.
char32_t LatinLookalike(char32_t c) {
  if (c < 0x80) return 0;
  switch (c) {
    case 0x1D00:
      return 'a';
    case 0x0299:
      return 'b';
    case 0x1D04:
      return 'c';
    case 0x1D05:
      return 'd';
    case 0x1D07:
      return 'e';
    case 0x0262:
      return 'g';
    case 0x029C:
      return 'h';
    case 0x026A:
      return 'i';
    case 0x1D0A:
      return 'j';
    case 0x1D0B:
      return 'k';
    case 0x029F:
      return 'l';
    case 0x1D0D:
      return 'm';
    case 0x0274:
      return 'n';
    case 0x1D0F:
      return 'o';
    case 0x1D18:
      return 'p';
    case 0x0280:
      return 'r';
    case 0xA731:
      return 's';
    case 0x1D1B:
      return 't';
    case 0x1D1C:
      return 'u';
    case 0x1D20:
      return 'v';
    case 0x1D21:
      return 'w';
    case 0x028F:
      return 'y';
    case 0x1D22:
      return 'z';
    case 0x0251:
      return 'a';
    case 0x0261:
      return 'g';
    case 0x0131:
      return 'i';
    case 0x0237:
      return 'j';
    case 0x0269:
      return 'i';
    case 0x01C0:
      return 'l';
    case 0x0455:
      return 's';
    default:
      return 0;
  }
}
// Cyrillic and Greek letters (either case) that look like a Latin letter.
char32_t ScriptLookalike(char32_t c) {
  if (c < 0x370) return 0;
  switch (c) {
    // Cyrillic upper.
    case 0x0410:
      return 'a';
    case 0x0412:
      return 'b';
    case 0x0415:
      return 'e';
    case 0x041A:
      return 'k';
    case 0x041C:
      return 'm';
    case 0x041D:
      return 'h';
    case 0x041E:
      return 'o';
    case 0x0420:
      return 'p';
    case 0x0421:
      return 'c';
    case 0x0422:
      return 't';
    case 0x0423:
      return 'y';
    case 0x0425:
      return 'x';
    case 0x0405:
      return 's';
    case 0x0406:
      return 'i';
    case 0x0408:
      return 'j';
    case 0x0401:
      return 'e';
    // Cyrillic lower.
    case 0x0430:
      return 'a';
    case 0x0435:
      return 'e';
    case 0x0451:
      return 'e';
    case 0x043A:
      return 'k';
    case 0x043E:
      return 'o';
    case 0x0440:
      return 'p';
    case 0x0441:
      return 'c';
    case 0x0443:
      return 'y';
    case 0x0445:
      return 'x';
    case 0x0456:
      return 'i';
    case 0x0457:
      return 'i';
    case 0x0458:
      return 'j';
    case 0x0501:
      return 'd';
    case 0x051B:
      return 'q';
    case 0x051D:
      return 'w';
    case 0x04BB:
      return 'h';
    case 0x0432:
      return 'b';
    case 0x043C:
      return 'm';
    case 0x043D:
      return 'h';
    case 0x0442:
      return 't';
    case 0x044C:
      return 'b';
    // Greek upper.
    case 0x0391:
      return 'a';
    case 0x0392:
      return 'b';
    case 0x0395:
      return 'e';
    case 0x0396:
      return 'z';
    case 0x0397:
      return 'h';
    case 0x0399:
      return 'i';
    case 0x039A:
      return 'k';
    case 0x039C:
      return 'm';
    case 0x039D:
      return 'n';
    case 0x039F:
      return 'o';
    case 0x03A1:
      return 'p';
    case 0x03A4:
      return 't';
    case 0x03A5:
      return 'y';
    case 0x03A7:
      return 'x';
    // Greek lower.
    case 0x03B1:
      return 'a';
    case 0x03B5:
      return 'e';
    case 0x03B9:
      return 'i';
    case 0x03BA:
      return 'k';
    case 0x03BD:
      return 'v';
    case 0x03BF:
      return 'o';
    case 0x03C1:
      return 'p';
    case 0x03C4:
      return 't';
    case 0x03C5:
      return 'u';
    case 0x03C7:
      return 'x';
    case 0x03C9:
      return 'w';
    case 0x03B3:
      return 'y';
    default:
      return 0;
  }
}

inline char32_t ToLowerCp(char32_t c) {
  if (c < 0x80) return (ClassOf(c) & kClsUpper) ? c + 32 : c;
  if (c >= 0x0410 && c <= 0x042F) return c + 0x20;
  if (c >= 0x0400 && c <= 0x040F) return c + 0x50;
  if (c >= 0x0391 && c <= 0x03A9 && c != 0x03A2) return c + 0x20;
  return c;
}

bool IsWordChar(char32_t c) {
  if (c < 0x80) return IsAsciiLetter(c);
  return IsCyrillicOrGreek(c) || LatinLookalike(c) != 0;
}

// Is there any "x y z w" / "x.y.z.w" shape (four single letters with one
// repeated separator) in the cleaned text? Rare: without one the joiner has
// nothing to do.
inline bool IsSpacedLetterShapeAt(const unsigned char* p, size_t k) {
  auto is_letter = [](unsigned char c) { return (kByteClass[c] & kClsLetter) != 0; };
  // The equal separators are the rare part: test them first.
  return p[k + 3] == p[k + 1] && p[k + 5] == p[k + 1] && (kByteClass[p[k + 1]] & kClsSep) &&
         is_letter(p[k]) && is_letter(p[k + 2]) && is_letter(p[k + 4]) && is_letter(p[k + 6]) &&
         (k == 0 || !is_letter(p[k - 1]));
}

bool HasSpacedLetterShape(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t k = 0;
  while (k + 6 < n) {
#if defined(__SSE2__)
    if (k + 6 + 16 <= n) {
      // Positions k..k+15 where s[k+1] == s[k+3] == s[k+5]; only those can
      // start the shape.
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k + 1));
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k + 3));
      __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k + 5));
      unsigned mask = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, b), _mm_cmpeq_epi8(b, c))));
      while (mask != 0) {
        if (IsSpacedLetterShapeAt(p, k + static_cast<size_t>(__builtin_ctz(mask)))) return true;
        mask &= mask - 1;
      }
      k += 16;
      continue;
    }
#endif
    if (IsSpacedLetterShapeAt(p, k)) return true;
    ++k;
  }
  return false;
}

// "i g n o r e" / "i.g.n.o.r.e" -> "ignore" (runs of >= 4 single letters),
// on the cleaned (case-preserved, not yet collapsed) text.
void JoinSpacedLetters(std::string& s, uint32_t* flags) {
  auto is_letter = [](char c) { return (ClassOf(c) & kClsLetter) != 0; };
  auto is_sep = [](char c) { return (ClassOf(c) & kClsSep) != 0; };
  if (!HasSpacedLetterShape(s)) return;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  bool changed = false;
  while (i < s.size()) {
    bool starts_word = is_letter(s[i]) && (i == 0 || !is_letter(s[i - 1]));
    if (starts_word && i + 1 < s.size() && is_sep(s[i + 1])) {
      char sep = s[i + 1];
      size_t j = i;
      size_t letters = 0;
      size_t end = i;
      while (j < s.size() && is_letter(s[j]) && (j + 1 >= s.size() || !is_letter(s[j + 1]))) {
        ++letters;
        end = j + 1;
        if (j + 2 < s.size() && s[j + 1] == sep && is_letter(s[j + 2])) {
          j += 2;
        } else {
          break;
        }
      }
      if (letters >= 4) {
        for (size_t k = i; k < end; ++k) {
          if (is_letter(s[k])) out.push_back(s[k]);
        }
        changed = true;
        i = end;
        continue;
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  if (changed) {
    *flags |= kFlagSpacedLetters;
    s.swap(out);
  }
}

constexpr auto kLeetLetter = [] {
  std::array<char, 256> t{};
  t['0'] = 'o';
  t['1'] = 'i';
  t['3'] = 'e';
  t['4'] = 'a';
  t['5'] = 's';
  t['7'] = 't';
  t['8'] = 'b';
  t['@'] = 'a';
  t['$'] = 's';
  t['!'] = 'i';
  return t;
}();

inline char LeetLetter(char c) { return kLeetLetter[static_cast<unsigned char>(c)]; }

// "10am", "5kg", "3rd": a number with a unit is not leetspeak.
bool IsNumberWithUnit(std::string_view w) {
  while (!w.empty() &&
         !((w[0] >= '0' && w[0] <= '9') || (w[0] >= 'a' && w[0] <= 'z') || w[0] == '$')) {
    w.remove_prefix(1);
  }
  size_t k = 0;
  while (k < w.size() &&
         ((w[k] >= '0' && w[k] <= '9') || w[k] == '.' || w[k] == ',' || w[k] == '$'))
    ++k;
  if (k == 0 || k == w.size()) return false;
  std::string_view unit = w.substr(k);
  while (!unit.empty() && !((unit.back() >= 'a' && unit.back() <= 'z') || unit.back() == '\'')) {
    unit.remove_suffix(1);
  }
  while (!unit.empty() && (unit.back() == '.' || unit.back() == ',' || unit.back() == ')' ||
                           unit.back() == '?' || unit.back() == '!' || unit.back() == ':')) {
    unit.remove_suffix(1);
  }
  static constexpr std::string_view kUnits[] = {
      "st",  "nd", "rd", "th",  "am", "pm",  "kg",  "g",   "mg",  "km",   "m",   "cm",
      "mm",  "s",  "ms", "h",   "hr", "hrs", "k",   "x",   "d",   "gb",   "mb",  "kb",
      "tb",  "px", "em", "v",   "hz", "ghz", "mhz", "b",   "min", "mins", "sec", "lb",
      "lbs", "oz", "ft", "in",  "yr", "yrs", "l",   "ml",  "w",   "kw",   "mph", "kph",
      "bn",  "mn", "pc", "pcs", "p",  "c",   "f",   "s's", "'s"};
  for (std::string_view u : kUnits) {
    if (unit == u) return true;
  }
  return false;
}

// Part numbers, IBANs and hashes ("x4k9", "de89", "ab12cd") carry digits
// leetspeak has no letter for, and an address keeps its '@'
// ("maria.garcia@corp.example"): neither is an obfuscated word.
bool IsCodeOrAddress(std::string_view w) {
  if (w.find_first_of("269") != std::string_view::npos) return true;
  size_t at = w.find('@');
  return at != std::string_view::npos && at > 0 && w.find('.', at) != std::string_view::npos;
}

// rot13 text has rot13 function words: "gur" (the), "naq" (and), "lbh"
// (you)... Only text with two of them gets a rot13 view, which keeps
// ordinary prompts to one signature scan. `word` is a space-free token of
// the folded text; trailing punctuation is ignored.
bool IsRot13FunctionWord(std::string_view word) {
  while (!word.empty() && !(ClassOf(word.back()) & kClsLower)) word.remove_suffix(1);
  // Every listed word starts with one of a few letters.
  if (word.size() < 2 || word.size() > 12 || !(ClassOf(word[0]) & kClsRot13Initial)) return false;
  switch (word.size()) {
    case 2:
      return word == "vf" || word == "bs" || word == "gb";
    case 3:
      return word == "gur" || word == "naq" || word == "lbh" || word == "nyy";
    case 4:
      return word == "lbhe";
    case 6:
      return word == "vtaber" || word == "flfgrz" || word == "cebzcg";
    case 7:
      return word == "eriryny";
    case 8:
      return word == "cerivbhf" || word == "cnffjbeq";
    case 9:
      return word == "qvfertneq";
    case 12:
      return word == "vafgehpgvbaf";
    default:
      return false;
  }
}

// The first two letters of the rot13 function words above: most words are
// ruled out without looking further.
constexpr auto kRot13Prefix = [] {
  std::array<uint32_t, 26> t{};  // bit (second letter) per first letter
  for (std::string_view w :
       {"vf", "bs", "gb", "gu", "na", "lb", "ny", "vt", "fl", "ce", "er", "cn", "qv", "va"}) {
    t[w[0] - 'a'] |= 1u << (w[1] - 'a');
  }
  return t;
}();
inline bool HasRot13Prefix(char a, char b) {
  return a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z' && (kRot13Prefix[a - 'a'] >> (b - 'a') & 1);
}

// Folds leetspeak in one word (no spaces) of the folded text if it mixes
// letters with leet characters; returns whether it did.
bool FoldLeetWord(char* w, size_t m) {
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  int letters = 0;
  int leet = 0;
  for (size_t j = 0; j < m; ++j) {
    char c = w[j];
    if (ClassOf(c) & kClsLower) {
      ++letters;
    } else if (LeetLetter(c)) {
      // '!' counts unless it ends the word or doubles ("wow!!").
      leet += c != '!' || (j + 1 < m && w[j + 1] != '!');
    }
  }
  if (!(letters >= 1 && leet >= 1 && letters + leet >= 3 && letters >= leet / 2)) return false;
  std::string_view word(w, m);
  if (word.find_first_of("<>/=:\\{}[]#&%") != std::string_view::npos || IsNumberWithUnit(word) ||
      IsCodeOrAddress(word)) {
    return false;
  }
  // Only characters between/next to letters are folded, so "$5" or "x=3,"
  // keep their numbers.
  for (size_t k = 0; k < m; ++k) {
    char c = w[k];
    char l = LeetLetter(c);
    if (!l) continue;
    if (c == '!' && (k + 1 == m || !(is_lower(w[k + 1]) || LeetLetter(w[k + 1])))) continue;
    bool prev_alpha = k > 0 && (is_lower(w[k - 1]) || LeetLetter(w[k - 1]));
    bool next_alpha = k + 1 < m && (is_lower(w[k + 1]) || LeetLetter(w[k + 1]));
    if (prev_alpha || next_alpha) w[k] = l;
  }
  return true;
}
// ---------------------------------------------------------------------------
// Step 3: embedded encodings.

inline int HexVal(char32_t c) { return c < 0x80 ? kHexValue[c] : -1; }
inline int HexVal(char c) { return kHexValue[static_cast<unsigned char>(c)]; }

// Decoded bytes look like text: valid-ish UTF-8, >= 90% printable.
bool LooksLikeText(std::string_view s) {
  if (s.size() < 6) return false;
  size_t printable = 0;
  size_t letters = 0;
  for (unsigned char c : s) {
    if ((c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t' || c >= 0x80) ++printable;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ++letters;
  }
  if (printable * 10 < s.size() * 9) return false;
  if (letters * 2 < s.size()) return false;
  // High bytes must form UTF-8.
  size_t i = 0;
  bool invalid = false;
  size_t bad = 0;
  while (i < s.size()) {
    DecodeOne(s, i, &invalid);
    if (invalid) {
      ++bad;
      invalid = false;
    }
  }
  return bad * 20 <= s.size();
}

inline bool IsB64Char(char32_t c) { return (ClassOf(c) & kClsB64) != 0; }
inline bool IsB64Char(char c) { return (ClassOf(c) & kClsB64) != 0; }

template <typename Str>
bool DecodeBase64Run(const Str& s, size_t b, size_t e, std::string* out) {
  bool upper = false, lower = false, digit = false;
  for (size_t k = b; k < e; ++k) {
    char32_t c = s[k];
    upper |= (c >= 'A' && c <= 'Z');
    lower |= (c >= 'a' && c <= 'z');
    digit |= (c >= '0' && c <= '9');
  }
  if (!(upper && lower) && !(digit && (upper || lower))) return false;
  size_t n = e - b;
  if (n % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (size_t k = b; k < e; ++k) {
    char32_t c = s[k];
    int v;
    if (c >= 'A' && c <= 'Z')
      v = static_cast<int>(c - 'A');
    else if (c >= 'a' && c <= 'z')
      v = static_cast<int>(c - 'a' + 26);
    else if (c >= '0' && c <= '9')
      v = static_cast<int>(c - '0' + 52);
    else if (c == '+' || c == '-')
      v = 62;
    else
      v = 63;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return LooksLikeText(*out);
}

struct DecodeState {
  const NormalizeOptions* options;
  NormalizedText* result;
  size_t decoded_bytes = 0;
  int rot13_words = 0;  // rot13 function words in the main view (counted to 2)
};

void NormalizeInto(std::string_view input, int depth, DecodeState& st, bool is_root);

void EmitDecoded(std::string&& bytes, int depth, DecodeState& st) {
  if (static_cast<int>(st.result->decoded.size()) >= st.options->max_segments) return;
  if (st.decoded_bytes + bytes.size() > st.options->max_decoded_bytes) return;
  st.decoded_bytes += bytes.size();
  NormalizeInto(bytes, depth + 1, st, false);
}

template <typename Str>
void FindEncodedSegments(const Str& s, int depth, DecodeState& st) {
  if (depth >= st.options->max_decode_depth) return;
  uint32_t& flags = st.result->flags;
  size_t n = s.size();
  std::string bytes;
  size_t i = 0;
  while (i < n) {
    if (static_cast<int>(st.result->decoded.size()) >= st.options->max_segments) return;
    char32_t c = s[i];
    // URL encoding: a token with >= 3 %XX escapes.
    if (c == '%' && i + 2 < n && HexVal(s[i + 1]) >= 0 && HexVal(s[i + 2]) >= 0) {
      size_t b = i;
      while (b > 0 && s[b - 1] != ' ' && static_cast<char32_t>(s[b - 1]) < 0x80) --b;
      size_t e = i;
      while (e < n && s[e] != ' ' && static_cast<char32_t>(s[e]) < 0x80) ++e;
      int escapes = 0;
      bytes.clear();
      for (size_t k = b; k < e; ++k) {
        if (s[k] == '%' && k + 2 < e && HexVal(s[k + 1]) >= 0 && HexVal(s[k + 2]) >= 0) {
          bytes.push_back(static_cast<char>(HexVal(s[k + 1]) * 16 + HexVal(s[k + 2])));
          k += 2;
          ++escapes;
        } else {
          bytes.push_back(s[k] == '+' ? ' ' : static_cast<char>(s[k]));
        }
      }
      if (escapes >= 3 && LooksLikeText(bytes)) {
        flags |= kFlagUrlEncoded;
        EmitDecoded(std::move(bytes), depth, st);
        bytes = std::string();
      }
      i = e;
      continue;
    }
    // \xNN escapes, or 0xNN / NN pairs separated by spaces or commas.
    if ((c == '\\' && i + 3 < n && s[i + 1] == 'x') ||
        (HexVal(c) >= 0 && i + 2 < n && HexVal(s[i + 1]) >= 0 &&
         (s[i + 2] == ' ' || s[i + 2] == ',') &&
         (i == 0 || s[i - 1] == ' ' || s[i - 1] == '"' || s[i - 1] == ':'))) {
      size_t k = i;
      bytes.clear();
      while (k < n) {
        size_t p = k;
        if (s[p] == '\\' && p + 1 < n && s[p + 1] == 'x')
          p += 2;
        else if (s[p] == '0' && p + 1 < n && s[p + 1] == 'x')
          p += 2;
        if (p + 1 < n && HexVal(s[p]) >= 0 && HexVal(s[p + 1]) >= 0 &&
            (p + 2 >= n || HexVal(s[p + 2]) < 0 || s[k] == '\\')) {
          bytes.push_back(static_cast<char>(HexVal(s[p]) * 16 + HexVal(s[p + 1])));
          k = p + 2;
          while (k < n && (s[k] == ' ' || s[k] == ',')) ++k;
        } else {
          break;
        }
      }
      if (bytes.size() >= 6 && LooksLikeText(bytes)) {
        flags |= kFlagHex;
        EmitDecoded(std::move(bytes), depth, st);
        bytes = std::string();
        i = k;
        continue;
      }
    }
    // Runs of base64/hex alphabet.
    if (IsB64Char(c) && (i == 0 || !IsB64Char(s[i - 1]))) {
      size_t e = i;
      bool all_hex = true;
      while (e < n) {
        uint16_t cls = ClassOf(s[e]);
        if (!(cls & kClsB64)) break;
        all_hex &= (cls & kClsHex) != 0;
        ++e;
      }
      size_t run_end = e;
      while (run_end < n && s[run_end] == '=') ++run_end;
      size_t len = e - i;
      if (len >= 16) {
        if (all_hex && len % 2 == 0) {
          bytes.clear();
          for (size_t k = i; k < e; k += 2) {
            bytes.push_back(static_cast<char>(HexVal(s[k]) * 16 + HexVal(s[k + 1])));
          }
          if (LooksLikeText(bytes)) {
            flags |= kFlagHex;
            EmitDecoded(std::move(bytes), depth, st);
            bytes = std::string();
          }
        } else if (DecodeBase64Run(s, i, e, &bytes)) {
          flags |= kFlagBase64;
          EmitDecoded(std::move(bytes), depth, st);
          bytes = std::string();
        }
      }
      i = run_end;
      continue;
    }
    ++i;
  }
}

// ---------------------------------------------------------------------------
// The odd-token shape.

// Tokens like "ZEHelperPhone", "foreach^ToString", "]).]]" in otherwise
// ordinary prose: optimised adversarial suffixes (GCG) are full of them.
// Called only for tokens with upper-case letters or odd symbols.
bool IsOddToken(const char* p, size_t i, size_t j) {
  int symbols = 0;
  int letters = 0;
  bool camel = false;
  bool prev_lower = false;
  for (size_t k = i; k < j; ++k) {
    uint16_t cls = ClassOf(p[k]);
    letters += (cls & kClsLetter) != 0;
    symbols += (cls & kClsOddSymbol) != 0;
    // An upper-case letter right after a lower-case one.
    camel |= prev_lower && (cls & kClsUpper);
    prev_lower = (cls & kClsLower) != 0;
  }
  return (camel && j - i >= 6) || (symbols >= 2 && letters == 0 && j - i >= 3) ||
         (symbols >= 1 && letters >= 2 && std::strchr("^$~", p[i]) == nullptr && j - i <= 24 &&
          symbols + 1 < letters && std::strchr("[({", p[j - 1]) != nullptr);
}

// Code has these too; code also has many lines.
bool OddTokenVerdict(size_t odd, size_t tokens, size_t lines) {
  return odd >= 3 && odd * 25 >= tokens && lines * 4 < tokens / 10 + 2;
}

// The shape over raw input bytes (tokens split at " \n\t\r"). FoldPass
// measures the same thing for ASCII input whose only control characters are
// \n \t \r; this separate walk is for everything else.
[[maybe_unused]] bool HasOddTokenShape(std::string_view input) {
  size_t tokens = 0;
  size_t odd = 0;
  size_t lines = 0;
  const char* p = input.data();
  const size_t n = input.size();
  size_t i = 0;
  while (i < n) {
    if (ClassOf(p[i]) & kClsTokenSpace) {
      lines += p[i] == '\n';
      ++i;
      continue;
    }
    // Most tokens are lower-case words: only tokens with upper-case letters
    // or odd symbols can be odd, and only those are looked at closely.
    size_t j = i;
    uint16_t seen = 0;
    for (; j < n; ++j) {
      uint16_t cls = ClassOf(p[j]);
      if (cls & kClsTokenSpace) break;
      seen |= cls;
    }
    ++tokens;
    if ((seen & (kClsUpper | kClsOddSymbol)) && IsOddToken(p, i, j)) ++odd;
    i = j;
  }
  return OddTokenVerdict(odd, tokens, lines);
}

// ---------------------------------------------------------------------------
// Pass A: steps 1+2 into UTF-8.

inline size_t EncodeUtf8(char32_t c, char* o) {
  if (c < 0x80) {
    o[0] = static_cast<char>(c);
    return 1;
  }
  if (c < 0x800) {
    o[0] = static_cast<char>(0xC0 | (c >> 6));
    o[1] = static_cast<char>(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    o[0] = static_cast<char>(0xE0 | (c >> 12));
    o[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    o[2] = static_cast<char>(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = static_cast<char>(0xF0 | (c >> 18));
  o[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
  o[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  o[3] = static_cast<char>(0x80 | (c & 0x3F));
  return 4;
}

// Decodes one character of UTF-8 this file wrote itself (always valid).
inline char32_t DecodeOwnUtf8(const unsigned char* p, size_t& i) {
  unsigned char c = p[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  if (c < 0xE0) {
    char32_t cp = (char32_t{c} & 0x1F) << 6 | (p[i + 1] & 0x3F);
    i += 2;
    return cp;
  }
  if (c < 0xF0) {
    char32_t cp = (char32_t{c} & 0x0F) << 12 | char32_t{p[i + 1] & 0x3Fu} << 6 | (p[i + 2] & 0x3F);
    i += 3;
    return cp;
  }
  char32_t cp = (char32_t{c} & 0x07) << 18 | char32_t{p[i + 1] & 0x3Fu} << 12 |
                char32_t{p[i + 2] & 0x3Fu} << 6 | (p[i + 3] & 0x3F);
  i += 4;
  return cp;
}

// AppendClean's output, written as UTF-8.
struct Utf8Sink {
  char* out;
  size_t len = 0;
  bool other_script = false;  // a Cyrillic or Greek letter was written
  bool non_ascii = false;     // a character >= U+0080 was written
  void push_back(char32_t c) {
    if (c >= 0x0370 && c <= 0x052F) other_script = true;
    non_ascii |= c >= 0x80;
    len += EncodeUtf8(c, out + len);
  }
};

struct CleanInfo {
  size_t size = 0;            // bytes written
  bool ascii = true;          // the input had no byte >= 0x80
  bool other_script = false;  // Cyrillic or Greek letters present
  bool clean_ascii = true;    // the cleaned text is all ASCII
};

// Room CleanToUtf8 may need: an invalid byte becomes the 3-byte U+FFFD.
inline size_t CleanCapacity(size_t input_size) { return input_size * 3 + 16; }

// Steps 1+2 on raw bytes: the cleaned text, UTF-8, case preserved, control
// characters and Unicode spaces as ' '. `out` holds CleanCapacity() bytes.
CleanInfo CleanToUtf8(std::string_view input, char* out, uint32_t* flags) {
  CleanInfo info;
  Utf8Sink sink{out};
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  const size_t n = input.size();
  size_t i = 0;
  bool invalid = false;
  auto ascii_byte = [&](unsigned char b) {
    if (b < 0x20 || b == 0x7F) b = ' ';
    out[sink.len++] = static_cast<char>(b);
  };
  auto one_character = [&]() {
    info.ascii = false;
    char32_t cp = DecodeOne(input, i, &invalid);
    AppendClean(sink, cp, flags);
  };
#if defined(__SSE2__)
  const __m128i below = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i space = _mm_set1_epi8(' ');
  while (i + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
    if (high != 0) {
      // The ASCII bytes before the first multi-byte character, then it.
      size_t ascii = static_cast<size_t>(__builtin_ctz(high));
      for (size_t k = 0; k < ascii; ++k) ascii_byte(in[i + k]);
      i += ascii;
      one_character();
      continue;
    }
    // Sixteen ASCII bytes (signed comparison is fine below 0x80).
    __m128i ctl = _mm_or_si128(_mm_cmplt_epi8(v, below), _mm_cmpeq_epi8(v, del));
    v = _mm_or_si128(_mm_and_si128(ctl, space), _mm_andnot_si128(ctl, v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + sink.len), v);
    sink.len += 16;
    i += 16;
  }
#endif
  while (i < n) {
    if (in[i] < 0x80) {
      ascii_byte(in[i]);
      ++i;
    } else {
      one_character();
    }
  }
  if (invalid) *flags |= kFlagInvalidUtf8;
  info.size = sink.len;
  info.other_script = sink.other_script;
  info.clean_ascii = !sink.non_ascii;
  return info;
}

// ---------------------------------------------------------------------------
// Per-thread buffers: the cleaned text of each decoding depth (a decoded
// segment is normalised while its parent's cleaned text is still in use).

struct ThreadBuffers {
  std::vector<std::unique_ptr<std::string>> clean;
  std::string joined;
  std::u32string token;
};

ThreadBuffers& Buffers() {
  thread_local ThreadBuffers buffers;
  return buffers;
}

std::u32string& TokenBuffer() { return Buffers().token; }

// ---------------------------------------------------------------------------
// Pass B: step 4 (case, confusables, whitespace, leetspeak) in one walk.

// ASCII letters and Cyrillic/Greek letters of the whole cleaned text: an
// all-look-alike word is folded only inside mostly Latin text.
struct ScriptCounts {
  size_t latin = 0;
  size_t other = 0;
};

ScriptCounts CountScripts(std::string_view clean) {
  ScriptCounts counts;
  const auto* p = reinterpret_cast<const unsigned char*>(clean.data());
  size_t i = 0;
  while (i < clean.size()) {
    char32_t c = DecodeOwnUtf8(p, i);
    if (IsAsciiLetter(c)) {
      ++counts.latin;
    } else if (IsCyrillicOrGreek(c)) {
      ++counts.other;
    }
  }
  return counts;
}

// Case and confusable folding of one space-free token with non-ASCII
// characters; writes the folded UTF-8 to `o` (never longer than the token)
// and returns its length. `scripts` is null when the text has no Cyrillic or
// Greek letter (then only Latin look-alikes fold).
size_t FoldTokenNonAscii(const unsigned char* w, size_t m, const ScriptCounts* scripts,
                         uint32_t* flags, char* o) {
  size_t len = 0;
  size_t i = 0;
  if (scripts == nullptr) {
    while (i < m) {
      char32_t c = DecodeOwnUtf8(w, i);
      if (char32_t l = LatinLookalike(c)) c = l;
      len += EncodeUtf8(ToLowerCp(c), o + len);
    }
    return len;
  }
  std::u32string& s = TokenBuffer();
  s.clear();
  while (i < m) s.push_back(DecodeOwnUtf8(w, i));
  // Words are runs of word characters; a token's words end at its edges
  // because ' ' is not a word character.
  size_t k = 0;
  while (k < s.size()) {
    if (!IsWordChar(s[k])) {
      s[k] = ToLowerCp(s[k]);
      ++k;
      continue;
    }
    size_t j = k;
    bool has_latin = false;
    bool has_other = false;
    bool all_lookalike = true;
    while (j < s.size() && IsWordChar(s[j])) {
      char32_t c = s[j];
      if (IsAsciiLetter(c) || LatinLookalike(c)) {
        has_latin = true;
      } else {
        has_other = true;
        if (!ScriptLookalike(c)) all_lookalike = false;
      }
      ++j;
    }
    // A word mixing scripts is an obfuscation; an all-look-alike word in a
    // mostly Latin text is one too. Genuine Russian/Greek words stay intact.
    bool fold = has_other && (has_latin || (all_lookalike && scripts->latin > 4 * scripts->other));
    for (size_t q = k; q < j; ++q) {
      char32_t c = s[q];
      if (char32_t l = LatinLookalike(c)) {
        s[q] = l;
        continue;
      }
      if (fold) {
        if (char32_t l2 = ScriptLookalike(c)) {
          s[q] = l2;
          *flags |= kFlagConfusable;
          continue;
        }
      }
      s[q] = ToLowerCp(c);
    }
    k = j;
  }
  for (char32_t c : s) len += EncodeUtf8(c, o + len);
  return len;
}

// Bits set in x (no POPCNT instruction in the baseline x86-64 target, and
// the libgcc fallback is a call).
inline size_t PopCount(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<size_t>((x * 0x0101010101010101ull) >> 56);
}

// ---------------------------------------------------------------------------
// The decoder's gate. FindEncodedSegments can only decode something at a
// base64-alphabet run of >= 16 bytes, a run of hex-pair-sequence bytes
// (hex digits, 'x', '\\', ',', ' ') holding >= 12 hex digits (six pairs), or a
// token with >= 3 %XX escapes. Runs are found on 64-bit class masks built
// sixteen bytes at a time; the rare candidates are then counted exactly.

// Whether `mask` (bit i = byte i of a 64-byte chunk) has a run of >= `len`
// ones (len is 12 or 16), counting `carry` ones that end the previous chunk.
// Updates `carry` for the next chunk.
inline bool HasRun(uint64_t mask, size_t& carry, unsigned len) {
  const uint64_t zeros = ~mask;
  const size_t leading = zeros == 0 ? 64 : static_cast<size_t>(std::countr_zero(zeros));
  bool found = carry + leading >= len;
  uint64_t r2 = mask & (mask >> 1);  // bit i: bytes i..i+1 all in the class
  uint64_t r4 = r2 & (r2 >> 2);
  uint64_t r8 = r4 & (r4 >> 4);
  uint64_t run = len == 16 ? (r8 & (r8 >> 8)) : (r8 & (r4 >> 8));
  found |= run != 0;
  carry = zeros == 0 ? carry + 64 : static_cast<size_t>(std::countl_zero(zeros));
  return found;
}

struct ClassMasks {
  uint64_t b64 = 0;
  uint64_t hex_seq = 0;
  uint64_t percent = 0;
};

// Class masks of the `count` (<= 64) bytes at p, one byte at a time.
ClassMasks MasksScalar(const unsigned char* p, size_t count) {
  ClassMasks m;
  for (size_t k = 0; k < count; ++k) {
    uint16_t cls = kByteClass[p[k]];
    m.b64 |= uint64_t{(cls & kClsB64) != 0} << k;
    m.hex_seq |= uint64_t{(cls & kClsHexSeq) != 0} << k;
    m.percent |= uint64_t{(cls & kClsPercent) != 0} << k;
  }
  return m;
}

#if defined(__SSE2__)
// Class masks of 64 bytes at p, sixteen at a time. Bytes >= 0x80 are negative
// as signed bytes and fall outside every range below.
ClassMasks MasksSse2(const unsigned char* p) {
  ClassMasks m;
  auto in_range = [](__m128i v, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  auto eq = [](__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
  for (int q = 0; q < 4; ++q) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
    __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));  // ASCII letters to lower case
    __m128i digit = in_range(v, '0', '9');
    __m128i hex = _mm_or_si128(digit, in_range(folded, 'a', 'f'));
    __m128i b64 = _mm_or_si128(
        _mm_or_si128(digit, in_range(folded, 'a', 'z')),
        _mm_or_si128(_mm_or_si128(eq(v, '+'), eq(v, '/')), _mm_or_si128(eq(v, '-'), eq(v, '_'))));
    __m128i hex_seq = _mm_or_si128(_mm_or_si128(hex, eq(v, 'x')),
                                   _mm_or_si128(_mm_or_si128(eq(v, '\\'), eq(v, ',')), eq(v, ' ')));
    const int shift = 16 * q;
    m.b64 |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(b64))} << shift;
    m.hex_seq |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(hex_seq))} << shift;
    m.percent |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(eq(v, '%')))} << shift;
  }
  return m;
}
#endif

bool MayHoldEncodedSegment(std::string_view clean) {
  const auto* p = reinterpret_cast<const unsigned char*>(clean.data());
  const size_t n = clean.size();
  size_t b64_carry = 0;
  size_t hex_seq_carry = 0;
  bool long_hex_seq = false;
  bool percent = false;
  for (size_t i = 0; i < n; i += 64) {
    const size_t count = std::min<size_t>(64, n - i);
#if defined(__SSE2__)
    ClassMasks m = count == 64 ? MasksSse2(p + i) : MasksScalar(p + i, count);
#else
    ClassMasks m = MasksScalar(p + i, count);
#endif
    if (HasRun(m.b64, b64_carry, 16)) return true;
    long_hex_seq |= HasRun(m.hex_seq, hex_seq_carry, 12);
    percent |= m.percent != 0;
  }
  if (long_hex_seq) {
    // Runs of >= 12 such bytes: count their hex digits (spaces and commas
    // do not count).
    unsigned digits = 0;
    unsigned most = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint16_t cls = kByteClass[p[i]];
      digits = (digits + ((cls & kClsHex) != 0)) & (0u - unsigned{(cls & kClsHexSeq) != 0});
      most = std::max(most, digits);
    }
    if (most >= 12) return true;
  }
  if (percent) {
    // '%' is common in prose ("20%"): jump from one to the next.
    unsigned escapes = 0;
    for (const void* at = std::memchr(p, '%', n); at != nullptr;) {
      const size_t i = static_cast<size_t>(static_cast<const unsigned char*>(at) - p);
      if (i + 2 >= n) break;
      escapes += kHexValue[p[i + 1]] >= 0 && kHexValue[p[i + 2]] >= 0;
      if (escapes >= 3) return true;
      at = std::memchr(p + i + 1, '%', n - i - 1);
    }
  }
  return false;
}

size_t FoldPass(std::string_view clean, bool other_script, int* rot13_words, uint32_t* flags,
                char* o) {
  const auto* p = reinterpret_cast<const unsigned char*>(clean.data());
  const size_t n = clean.size();
  ScriptCounts scripts;
  if (other_script) scripts = CountScripts(clean);
  const ScriptCounts* scripts_ptr = other_script ? &scripts : nullptr;
  size_t len = 0;
  size_t i = 0;
  int folded_words = 0;
  while (i < n) {
    if (p[i] == ' ') {
      ++i;
      continue;
    }
    if (len != 0) o[len++] = ' ';
    const size_t word = i;
    const size_t out_word = len;
    uint16_t seen = 0;
    for (; i < n && p[i] != ' '; ++i) {
      const unsigned char c = p[i];
      const uint16_t cls = kByteClass[c];
      seen |= cls;
      o[len++] = kLowerByte[c];
    }
    if (seen & kClsHigh) {
      len = out_word + FoldTokenNonAscii(p + word, i - word, scripts_ptr, flags, o + out_word);
    }
    if ((seen & kClsLeet) && (seen & (kClsLetter | kClsHigh))) {
      folded_words += FoldLeetWord(o + out_word, len - out_word);
    }
    if (rot13_words && *rot13_words < 2 && len - out_word >= 2 &&
        HasRot13Prefix(o[out_word], o[out_word + 1]) &&
        IsRot13FunctionWord(std::string_view(o + out_word, len - out_word))) {
      ++*rot13_words;
    }
  }
  // One odd token ("v2.0b", "x86") is not an obfuscation; several are.
  if (folded_words >= 2) *flags |= kFlagLeet;
  return len;
}

#if defined(__SSE2__)
// ---------------------------------------------------------------------------
// Pass B for all-ASCII cleaned text, without a branch per word: sixteen bytes
// at a time are lower-cased and stored (spaces collapsed), and 64-bit masks
// of spaces and of the rare classes (leet characters, rot13 initials,
// capitals and odd symbols) lead straight to the few words that need a
// closer look. Same result as FoldPass, which handles everything else.

// The 16 bytes at p + i. Past the end n they come from `block`, padded with
// spaces, and `*valid` has a bit only for the bytes that exist.
inline __m128i LoadSpacePadded(const void* p, size_t i, size_t n, void* block, uint64_t* valid) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  if (i + 16 <= n) {
    *valid = 0xFFFF;
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + i));
  }
  std::memset(block, ' ', 16);
  std::memcpy(block, bytes + i, n - i);
  *valid = (uint64_t{1} << (n - i)) - 1;
  return _mm_load_si128(static_cast<const __m128i*>(block));
}

inline __m128i InRange(__m128i v, char lo, char hi) {
  return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                       _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
}
inline __m128i Eq(__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); }
inline uint64_t Mask16(__m128i m) { return static_cast<uint16_t>(_mm_movemask_epi8(m)); }

// Word boundaries from a space mask (bit i of word i/64 = byte i is a space;
// bits past the text are set).
inline size_t WordStartAt(const uint64_t* spaces, size_t b) {
  size_t w = b >> 6;
  uint64_t m = spaces[w] & ((uint64_t{1} << (b & 63)) - 1);
  while (m == 0) {
    if (w == 0) return 0;
    m = spaces[--w];
  }
  return (w << 6) + 64 - static_cast<size_t>(std::countl_zero(m));
}
inline size_t WordEndAt(const uint64_t* spaces, size_t b) {
  size_t w = b >> 6;
  uint64_t m = (b & 63) == 63 ? 0 : spaces[w] & ~((uint64_t{2} << (b & 63)) - 1);
  while (m == 0) m = spaces[++w];
  return (w << 6) + static_cast<size_t>(std::countr_zero(m));
}

// Calls f(word_begin, word_end) once for every word holding a set bit of
// `marks` (words from `spaces`; both masks cover `chunks` 64-byte chunks).
template <typename F>
void ForEachMarkedWord(const uint64_t* marks, const uint64_t* spaces, size_t chunks, F&& f) {
  for (size_t w = 0; w < chunks; ++w) {
    uint64_t m = marks[w];
    while (m != 0) {
      const size_t b = (w << 6) + static_cast<size_t>(std::countr_zero(m));
      const size_t end = WordEndAt(spaces, b);
      f(WordStartAt(spaces, b), end);
      // Marks inside this word are done.
      if ((end >> 6) > w) {
        w = end >> 6;
        if (w >= chunks) return;
        m = marks[w] & (~uint64_t{0} << (end & 63));
      } else {
        m &= ~uint64_t{0} << (end & 63);
      }
    }
  }
}

struct AsciiFoldMasks {
  std::vector<uint64_t> out_spaces, leet_marks, rot13_marks;
};

size_t FoldPassAscii(std::string_view clean, int* rot13_words, uint32_t* flags, char* o) {
  thread_local AsciiFoldMasks masks;
  const auto* p = reinterpret_cast<const unsigned char*>(clean.data());
  const size_t n = clean.size();
  const size_t chunks = (n + 63) / 64;
  // One spare chunk of "all spaces" ends every word search.
  auto prepare = [&](std::vector<uint64_t>& v) { v.assign(chunks + 1, 0); };
  const __m128i upper_to_lower = _mm_set1_epi8(0x20);
  size_t len = 0;
  uint64_t prev_space = 1;  // spaces at the start are dropped
  size_t i = 0;
  alignas(16) char block[16];
  for (; i < n; i += 16) {
    uint64_t valid;
    const __m128i v = LoadSpacePadded(p, i, n, block, &valid);
    const __m128i upper = InRange(v, 'A', 'Z');
    const __m128i lower = _mm_add_epi8(v, _mm_and_si128(upper, upper_to_lower));
    const uint64_t spaces = Mask16(Eq(v, ' '));
    // A space right after a space (or at the start) is dropped.
    const uint64_t drop = spaces & ((spaces << 1) | prev_space);
    prev_space = (spaces >> 15) & 1;
    if ((drop & valid) == 0 && valid == 0xFFFF) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + len), lower);
      len += 16;
    } else {
      _mm_store_si128(reinterpret_cast<__m128i*>(block), lower);
      for (size_t k = 0; k < 16; ++k) {
        if ((valid >> k & 1) && !(drop >> k & 1)) o[len++] = block[k];
      }
    }
  }
  if (len != 0 && o[len - 1] == ' ') --len;  // a trailing space

  // Masks of the folded text.
  const size_t out_chunks = (len + 63) / 64;
  prepare(masks.out_spaces);
  prepare(masks.leet_marks);
  const bool count_rot13 = rot13_words != nullptr && *rot13_words < 2;
  if (count_rot13) prepare(masks.rot13_marks);
  for (size_t j = 0; j < len; j += 16) {
    uint64_t valid;
    const __m128i v = LoadSpacePadded(o, j, len, block, &valid);
    // Leet characters: 0 1 3 4 5 7 8 @ $ !
    __m128i leet = _mm_or_si128(_mm_or_si128(InRange(v, '0', '1'), InRange(v, '3', '5')),
                                _mm_or_si128(_mm_or_si128(InRange(v, '7', '8'), Eq(v, '@')),
                                             _mm_or_si128(Eq(v, '$'), Eq(v, '!'))));
    masks.out_spaces[j >> 6] |= Mask16(Eq(v, ' ')) << (j & 63);
    masks.leet_marks[j >> 6] |= (Mask16(leet) & valid) << (j & 63);
    if (count_rot13) {
      // Letters rot13 function words start with (b c e f g l n q v), and
      // the leet characters that fold to one of them (3 -> e, 8 -> b): the
      // words are checked after leet folding.
      __m128i init = _mm_or_si128(
          _mm_or_si128(_mm_or_si128(InRange(v, 'b', 'c'), InRange(v, 'e', 'g')),
                       _mm_or_si128(Eq(v, '3'), Eq(v, '8'))),
          _mm_or_si128(_mm_or_si128(Eq(v, 'l'), Eq(v, 'n')), _mm_or_si128(Eq(v, 'q'), Eq(v, 'v'))));
      masks.rot13_marks[j >> 6] |= (Mask16(init) & valid) << (j & 63);
    }
  }
  if (len & 63) masks.out_spaces[len >> 6] |= ~uint64_t{0} << (len & 63);
  masks.out_spaces[out_chunks] = ~uint64_t{0};

  int folded_words = 0;
  ForEachMarkedWord(masks.leet_marks.data(), masks.out_spaces.data(), out_chunks,
                    [&](size_t b, size_t e) { folded_words += FoldLeetWord(o + b, e - b); });
  if (folded_words >= 2) *flags |= kFlagLeet;
  if (count_rot13) {
    // Only word starts count.
    for (size_t w = 0; w < out_chunks; ++w) {
      const uint64_t spaces = masks.out_spaces[w];
      const uint64_t before = (spaces << 1) | (w == 0 ? 1 : masks.out_spaces[w - 1] >> 63);
      masks.rot13_marks[w] &= before & ~spaces;
    }
    ForEachMarkedWord(masks.rot13_marks.data(), masks.out_spaces.data(), out_chunks,
                      [&](size_t b, size_t e) {
                        if (*rot13_words < 2 && e - b >= 2 && HasRot13Prefix(o[b], o[b + 1]) &&
                            IsRot13FunctionWord(std::string_view(o + b, e - b))) {
                          ++*rot13_words;
                        }
                      });
  }
  return len;
}

// HasOddTokenShape on masks: token spaces split the raw input, and only the
// tokens holding a capital or an odd symbol ([]{}()^$=|~\`<>) are looked at.
bool HasOddTokenShapeSse2(std::string_view input) {
  thread_local std::vector<uint64_t> token_spaces;
  thread_local std::vector<uint64_t> marks;
  const auto* p = reinterpret_cast<const unsigned char*>(input.data());
  const size_t n = input.size();
  const size_t chunks = (n + 63) / 64;
  token_spaces.assign(chunks + 1, 0);
  marks.assign(chunks + 1, 0);
  size_t lines = 0;
  alignas(16) unsigned char block[16];
  for (size_t i = 0; i < n; i += 16) {
    uint64_t valid;
    const __m128i v = LoadSpacePadded(p, i, n, block, &valid);
    const __m128i newline = Eq(v, '\n');
    const __m128i space =
        _mm_or_si128(_mm_or_si128(Eq(v, ' '), newline), _mm_or_si128(Eq(v, '\t'), Eq(v, '\r')));
    const __m128i odd = _mm_or_si128(
        _mm_or_si128(InRange(v, 'A', 'Z'), _mm_or_si128(Eq(v, '$'), InRange(v, '(', ')'))),
        _mm_or_si128(_mm_or_si128(InRange(v, '<', '>'), InRange(v, '[', '^')),
                     _mm_or_si128(Eq(v, '`'), InRange(v, '{', '~'))));
    lines += PopCount(Mask16(newline) & valid);
    token_spaces[i >> 6] |= Mask16(space) << (i & 63);
    marks[i >> 6] |= (Mask16(odd) & valid) << (i & 63);
  }
  if (n & 63) token_spaces[n >> 6] |= ~uint64_t{0} << (n & 63);
  token_spaces[chunks] = ~uint64_t{0};
  size_t tokens = 0;
  for (size_t w = 0; w < chunks; ++w) {
    const uint64_t spaces = token_spaces[w];
    const uint64_t before = (spaces << 1) | (w == 0 ? 1 : token_spaces[w - 1] >> 63);
    tokens += PopCount(before & ~spaces);
  }
  size_t odd = 0;
  ForEachMarkedWord(marks.data(), token_spaces.data(), chunks,
                    [&](size_t b, size_t e) { odd += IsOddToken(input.data(), b, e); });
  return OddTokenVerdict(odd, tokens, lines);
}
#endif

std::string& CleanBuffer(size_t depth, size_t input_size) {
  ThreadBuffers& b = Buffers();
  while (b.clean.size() <= depth) b.clean.push_back(std::make_unique<std::string>());
  std::string& buf = *b.clean[depth];
  if (buf.size() < CleanCapacity(input_size)) buf.resize(CleanCapacity(input_size));
  return buf;
}

// Buffers grown by one huge input are not kept for the thread's lifetime.
void TrimBuffers() {
  constexpr size_t kKeep = size_t{1} << 20;
  ThreadBuffers& b = Buffers();
  for (auto& buf : b.clean) {
    if (buf->capacity() > kKeep) *buf = std::string();
  }
  if (b.joined.capacity() > kKeep) b.joined = std::string();
  if (b.token.capacity() > kKeep / 4) b.token = std::u32string();
}

// Step 4 on the cleaned text into `folded`. Texts with the spaced-letter
// shape are joined first (a copy).
void FoldInto(std::string_view clean, bool other_script, bool clean_ascii, int* rot13_words,
              uint32_t* flags, std::string* folded) {
  std::string_view text = clean;
  if (HasSpacedLetterShape(clean)) {
    std::string& joined = Buffers().joined;
    joined.assign(clean);
    JoinSpacedLetters(joined, flags);
    text = joined;
  }
  folded->resize(text.size() + 16);  // FoldPassAscii stores sixteen bytes at a time
  size_t len;
#if defined(__SSE2__)
  if (clean_ascii) {
    len = FoldPassAscii(text, rot13_words, flags, folded->data());
  } else {
    len = FoldPass(text, other_script, rot13_words, flags, folded->data());
  }
#else
  len = FoldPass(text, other_script, rot13_words, flags, folded->data());
#endif
  folded->resize(len);
}

void NormalizeInto(std::string_view input, int depth, DecodeState& st, bool is_root) {
  uint32_t& flags = st.result->flags;
  std::string& buffer = CleanBuffer(static_cast<size_t>(depth), input.size());
  CleanInfo info = CleanToUtf8(input, buffer.data(), &flags);
  std::string_view clean(buffer.data(), info.size);
  std::string segment;
  std::string* folded = is_root ? &st.result->text : &segment;
  FoldInto(clean, info.other_script, info.clean_ascii, is_root ? &st.rot13_words : nullptr, &flags,
           folded);
#if defined(__SSE2__)
  if (is_root && HasOddTokenShapeSse2(input)) flags |= kFlagOddTokens;
#else
  if (is_root && HasOddTokenShape(input)) flags |= kFlagOddTokens;
#endif
  // Decoded segments are normalised (and appended) before their parent, as
  // the decoder finds them.
  if (depth < st.options->max_decode_depth && MayHoldEncodedSegment(clean)) {
    FindEncodedSegments(clean, depth, st);
  }
  if (!is_root && !segment.empty()) st.result->decoded.push_back(std::move(segment));
}

}  // namespace

std::vector<std::string> FlagNames(uint32_t flags) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kFlagZeroWidth, "obfuscation.invisible_chars"},
      {kFlagBidi, "obfuscation.bidi_controls"},
      {kFlagConfusable, "obfuscation.confusables"},
      {kFlagCompat, "obfuscation.compat_letters"},
      {kFlagLeet, "obfuscation.leetspeak"},
      {kFlagSpacedLetters, "obfuscation.spaced_letters"},
      {kFlagBase64, "encoding.base64"},
      {kFlagHex, "encoding.hex"},
      {kFlagUrlEncoded, "encoding.url"},
      {kFlagInvalidUtf8, "encoding.invalid_utf8"},
      {kFlagOddTokens, "shape.odd_tokens"},
  };
  std::vector<std::string> out;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out.emplace_back(name);
  }
  return out;
}

void Normalize(std::string_view input, const NormalizeOptions& options, NormalizedText* out) {
  out->text.clear();
  out->decoded.clear();
  out->rot13.clear();
  out->flags = 0;
  if (input.size() > options.max_input_bytes) input = input.substr(0, options.max_input_bytes);
  DecodeState st{&options, out};
  NormalizeInto(input, 0, st, true);
  if (options.rot13_view && st.rot13_words >= 2) {
    out->rot13 = out->text;
    for (char& c : out->rot13) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    }
  }
  TrimBuffers();
}

NormalizedText Normalize(std::string_view input, const NormalizeOptions& options) {
  NormalizedText result;
  Normalize(input, options, &result);
  return result;
}

std::string FoldText(std::string_view input, uint32_t* flags) {
  uint32_t local = 0;
  uint32_t* f = flags ? flags : &local;
  std::string& buffer = CleanBuffer(0, input.size());
  CleanInfo info = CleanToUtf8(input, buffer.data(), f);
  std::string folded;
  FoldInto(std::string_view(buffer.data(), info.size), info.other_script, info.clean_ascii, nullptr,
           f, &folded);
  TrimBuffers();
  return folded;
}

}  // namespace steward::injection
