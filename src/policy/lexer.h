// Splits policy source text into tokens. Comments run from `//` to the end
// of the line. Strings are double-quoted with \" \\ \n \t \r escapes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/errors.h"

namespace steward::policy {

enum class TokenKind {
  kIdent,
  kString,
  kLong,
  kDouble,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kSemicolon,
  kDot,
  kAt,
  kAssign,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kAndAnd,
  kOrOr,
  kBang,
  kEnd,
};

const char* TokenKindName(TokenKind k);

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifier name or decoded string value; raw text otherwise
  int64_t long_value = 0;
  double double_value = 0;
  SourceLoc loc;
};

// Source text larger than this is refused (policies are small; this bounds
// the work a fuzzer or a stray file can cause).
constexpr size_t kMaxSourceBytes = 4 << 20;

// Tokenizes `source`; on success the last token is kEnd.
bool Lex(std::string_view source, const std::string& file, std::vector<Token>* tokens,
         LexError* error);

}  // namespace steward::policy
