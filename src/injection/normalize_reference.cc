// The normaliser as it was before the fused single-pass rewrite (commit
// 309138e), kept verbatim as a test-only reference: the equivalence test
// checks that the production Normalize()/FoldText() give byte-identical
// output, decoded views, rot13 view and flags on a large corpus, so the
// detector's scores cannot drift. Not linked into Steward.
#include "injection/normalize_reference.h"

// Verbatim old code: its char/char32_t comparisons are known and harmless.
#pragma GCC diagnostic ignored "-Wsign-compare"

#include <algorithm>
#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace steward::injection::reference {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Byte classes of ASCII characters, looked up instead of chains of
// comparisons in the per-character loops.
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

// Appends the compatibility/ASCII form of `c` to `out` (a UTF-32 buffer).
void AppendClean(std::u32string& out, char32_t c, uint32_t* flags) {
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

// Confusable + case folding in place.
void FoldCaseAndConfusables(std::u32string& s, uint32_t* flags) {
  size_t latin = 0;
  size_t other = 0;
  for (char32_t c : s) {
    if (IsAsciiLetter(c)) {
      ++latin;
    } else if (IsCyrillicOrGreek(c)) {
      ++other;
    }
  }
  size_t i = 0;
  while (i < s.size()) {
    if (!IsWordChar(s[i])) {
      s[i] = ToLowerCp(s[i]);
      ++i;
      continue;
    }
    size_t j = i;
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
    bool fold = has_other && ((has_latin) || (all_lookalike && latin > 4 * other));
    for (size_t k = i; k < j; ++k) {
      char32_t c = s[k];
      if (char32_t l = LatinLookalike(c)) {
        s[k] = l;
        continue;
      }
      if (fold) {
        if (char32_t l2 = ScriptLookalike(c)) {
          s[k] = l2;
          *flags |= kFlagConfusable;
          continue;
        }
      }
      s[k] = ToLowerCp(c);
    }
    i = j;
  }
}

// "i g n o r e" / "i.g.n.o.r.e" -> "ignore" (runs of >= 4 single letters).
template <typename Str>
void JoinSpacedLetters(Str& s, uint32_t* flags) {
  auto is_letter = [](auto c) { return (ClassOf(c) & kClsLetter) != 0; };
  auto is_sep = [](auto c) { return (ClassOf(c) & kClsSep) != 0; };
  // Cheap pre-check: is there any "x y z w" / "x.y.z.w" shape at all?
  bool candidate = false;
  size_t k = 0;
#if defined(__SSE2__)
  if constexpr (sizeof(s[0]) == 1) {
    // Skip sixteen positions at a time where s[k+1] == s[k+3] == s[k+5]
    // never holds (the rare part of the shape).
    const char* p = reinterpret_cast<const char*>(s.data());
    while (k + 6 + 16 <= s.size()) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k + 1));
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k + 3));
      __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k + 5));
      if (_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, b), _mm_cmpeq_epi8(b, c))) != 0) break;
      k += 16;
    }
  }
#endif
  for (; k + 6 < s.size(); ++k) {
    // The equal separators are the rare part: test them first.
    if (s[k + 3] == s[k + 1] && s[k + 5] == s[k + 1] && is_sep(s[k + 1]) && is_letter(s[k]) &&
        is_letter(s[k + 2]) && is_letter(s[k + 4]) && is_letter(s[k + 6]) &&
        (k == 0 || !is_letter(s[k - 1]))) {
      candidate = true;
      break;
    }
  }
  if (!candidate) return;
  Str out;
  out.reserve(s.size());
  size_t i = 0;
  bool changed = false;
  while (i < s.size()) {
    bool starts_word = is_letter(s[i]) && (i == 0 || !is_letter(s[i - 1]));
    if (starts_word && i + 1 < s.size() && is_sep(s[i + 1])) {
      char32_t sep = s[i + 1];
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

// Folds leetspeak in words that mix letters with leet characters. When
// `rot13_words` is given, it also counts (up to 2) the folded words that are
// rot13 function words, so the rot13 test needs no pass of its own.
void FoldLeet(std::string& s, uint32_t* flags, int* rot13_words = nullptr) {
  size_t i = 0;
  int folded_words = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    size_t j = i;
    int letters = 0;
    int leet = 0;
    for (; j < s.size() && s[j] != ' '; ++j) {
      char c = s[j];
      if (ClassOf(c) & kClsLower) {
        ++letters;
      } else if (LeetLetter(c)) {
        // '!' counts unless it ends the word or doubles ("wow!!").
        leet += c != '!' || (j + 1 < s.size() && s[j + 1] != ' ' && s[j + 1] != '!');
      }
    }
    std::string_view word = std::string_view(s).substr(i, j - i);
    if (letters >= 1 && leet >= 1 && letters + leet >= 3 && letters >= leet / 2 &&
        word.find_first_of("<>/=:\\{}[]#&%") == std::string_view::npos && !IsNumberWithUnit(word) &&
        !IsCodeOrAddress(word)) {
      ++folded_words;
      // Only characters between/next to letters are folded, so "$5" or
      // "x=3," keep their numbers.
      for (size_t k = i; k < j; ++k) {
        char c = s[k];
        char l = LeetLetter(c);
        if (!l) continue;
        if (c == '!' &&
            (k + 1 == j || !((s[k + 1] >= 'a' && s[k + 1] <= 'z') || LeetLetter(s[k + 1]))))
          continue;
        bool prev_alpha = k > i && ((s[k - 1] >= 'a' && s[k - 1] <= 'z') || LeetLetter(s[k - 1]));
        bool next_alpha =
            k + 1 < j && ((s[k + 1] >= 'a' && s[k + 1] <= 'z') || LeetLetter(s[k + 1]));
        if (prev_alpha || next_alpha) s[k] = l;
      }
    }
    if (rot13_words && *rot13_words < 2 &&
        IsRot13FunctionWord(std::string_view(s).substr(i, j - i))) {
      ++*rot13_words;
    }
    i = j;
  }
  // One odd token ("v2.0b", "x86") is not an obfuscation; several are.
  if (folded_words >= 2) *flags |= kFlagLeet;
}

// Steps 1+2 on raw bytes -> UTF-32, case preserved.
std::u32string Clean(std::string_view input, uint32_t* flags) {
  std::u32string out;
  out.reserve(input.size());
  size_t i = 0;
  bool invalid = false;
  while (i < input.size()) {
    unsigned char b = static_cast<unsigned char>(input[i]);
    if (b >= 0x20 && b < 0x7F) {
      // Fast path: copy the whole run of printable ASCII at once.
      size_t end = i + 1;
      while (end < input.size() && static_cast<unsigned char>(input[end]) >= 0x20 &&
             static_cast<unsigned char>(input[end]) < 0x7F) {
        ++end;
      }
      size_t at = out.size();
      out.resize(at + (end - i));
      char32_t* o = out.data() + at;
      for (size_t k = i; k < end; ++k) *o++ = static_cast<unsigned char>(input[k]);
      i = end;
      continue;
    }
    char32_t cp = DecodeOne(input, i, &invalid);
    AppendClean(out, cp, flags);
  }
  if (invalid) *flags |= kFlagInvalidUtf8;
  return out;
}

bool IsAscii(std::string_view s) {
  // Eight bytes at a time.
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    acc |= word;
  }
  for (; i < s.size(); ++i) acc |= static_cast<unsigned char>(s[i]);
  return (acc & 0x8080808080808080ull) == 0;
}

// Steps 1+2 for ASCII input: control characters become spaces.
std::string CleanAscii(std::string_view input) {
  std::string out(input);
  char* p = out.data();
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time: bytes < 0x20 or == 0x7F become spaces (the
  // input is ASCII, so signed comparison is fine).
  const __m128i below = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i space = _mm_set1_epi8(' ');
  for (; i + 16 <= out.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i ctl = _mm_or_si128(_mm_cmplt_epi8(v, below), _mm_cmpeq_epi8(v, del));
    if (_mm_movemask_epi8(ctl) == 0) continue;
    v = _mm_or_si128(_mm_and_si128(ctl, space), _mm_andnot_si128(ctl, v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), v);
  }
#endif
  for (; i < out.size(); ++i) {
    if (p[i] < 0x20 || p[i] == 0x7F) p[i] = ' ';
  }
  return out;
}

// Step 4 for ASCII text (no confusables possible): same result as Fold().
std::string FoldAscii(std::string s, uint32_t* flags, int* rot13_words = nullptr) {
  JoinSpacedLetters(s, flags);
  // Collapse spaces and lower-case in place: the output never outgrows the
  // input (at most one space per following character).
  char* out = s.data();
  size_t len = 0;
  bool pending_space = false;
  for (char c : s) {
    if (c == ' ') {
      pending_space = len != 0;
      continue;
    }
    if (pending_space) {
      out[len++] = ' ';
      pending_space = false;
    }
    out[len++] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  }
  s.resize(len);
  FoldLeet(s, flags, rot13_words);
  return s;
}

// Step 4 on cleaned text -> folded UTF-8.
std::string Fold(std::u32string s, uint32_t* flags, int* rot13_words = nullptr) {
  JoinSpacedLetters(s, flags);
  FoldCaseAndConfusables(s, flags);
  // Encode into a buffer sized for the worst case (4 bytes per character)
  // instead of growing the string a byte at a time.
  std::string out(s.size() * 4, '\0');
  char* o = out.data();
  size_t len = 0;
  bool pending_space = false;
  for (char32_t c : s) {
    if (c == ' ') {
      pending_space = len != 0;
      continue;
    }
    if (pending_space) {
      o[len++] = ' ';
      pending_space = false;
    }
    if (c < 0x80) {
      o[len++] = static_cast<char>(c);
    } else if (c < 0x800) {
      o[len++] = static_cast<char>(0xC0 | (c >> 6));
      o[len++] = static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      o[len++] = static_cast<char>(0xE0 | (c >> 12));
      o[len++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      o[len++] = static_cast<char>(0x80 | (c & 0x3F));
    } else {
      o[len++] = static_cast<char>(0xF0 | (c >> 18));
      o[len++] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      o[len++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      o[len++] = static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  out.resize(len);
  FoldLeet(out, flags, rot13_words);
  return out;
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

// Tokens like "ZEHelperPhone", "foreach^ToString", "]).]]" in otherwise
// ordinary prose: optimised adversarial suffixes (GCG) are full of them.
bool HasOddTokenShape(std::string_view input) {
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
    // Most tokens are lower-case words: find the token's end and what
    // kinds of bytes it has; only tokens with upper-case letters or odd
    // symbols can be odd, and only those are looked at closely.
    size_t j = i;
    uint16_t seen = 0;
    for (; j < n; ++j) {
      uint16_t cls = ClassOf(p[j]);
      if (cls & kClsTokenSpace) break;
      seen |= cls;
    }
    ++tokens;
    if (seen & (kClsUpper | kClsOddSymbol)) {
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
      if ((camel && j - i >= 6) || (symbols >= 2 && letters == 0 && j - i >= 3) ||
          (symbols >= 1 && letters >= 2 && std::strchr("^$~", p[i]) == nullptr && j - i <= 24 &&
           symbols + 1 < letters && std::strchr("[({", p[j - 1]) != nullptr)) {
        ++odd;
      }
    }
    i = j;
  }
  // Code has these too; code also has many lines.
  return odd >= 3 && odd * 25 >= tokens && lines * 4 < tokens / 10 + 2;
}

void NormalizeInto(std::string_view input, int depth, DecodeState& st, bool is_root) {
  if (is_root && HasOddTokenShape(input)) st.result->flags |= kFlagOddTokens;
  std::string folded;
  if (IsAscii(input)) {
    // Most prompts: one byte per character, no UTF-32 round trip.
    std::string clean = CleanAscii(input);
    FindEncodedSegments(clean, depth, st);
    folded = FoldAscii(std::move(clean), &st.result->flags, is_root ? &st.rot13_words : nullptr);
  } else {
    std::u32string clean = Clean(input, &st.result->flags);
    FindEncodedSegments(clean, depth, st);
    folded = Fold(std::move(clean), &st.result->flags, is_root ? &st.rot13_words : nullptr);
  }
  if (is_root) {
    st.result->text = std::move(folded);
  } else if (!folded.empty()) {
    st.result->decoded.push_back(std::move(folded));
  }
}

}  // namespace

NormalizedText Normalize(std::string_view input, const NormalizeOptions& options) {
  NormalizedText result;
  if (input.size() > options.max_input_bytes) input = input.substr(0, options.max_input_bytes);
  DecodeState st{&options, &result};
  NormalizeInto(input, 0, st, true);
  if (options.rot13_view && st.rot13_words >= 2) {
    result.rot13 = result.text;
    for (char& c : result.rot13) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    }
  }
  return result;
}

std::string FoldText(std::string_view input, uint32_t* flags) {
  uint32_t local = 0;
  uint32_t* f = flags ? flags : &local;
  if (IsAscii(input)) return FoldAscii(CleanAscii(input), f);
  return Fold(Clean(input, f), f);
}

}  // namespace steward::injection::reference
