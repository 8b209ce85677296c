#include "policy/lexer.h"

#include <cerrno>
#include <cstdlib>

namespace steward::policy {

std::string SourceLoc::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

const char* TokenKindName(TokenKind k) {
  switch (k) {
    case TokenKind::kIdent:
      return "identifier";
    case TokenKind::kString:
      return "string";
    case TokenKind::kLong:
      return "integer";
    case TokenKind::kDouble:
      return "number";
    case TokenKind::kLParen:
      return "`(`";
    case TokenKind::kRParen:
      return "`)`";
    case TokenKind::kLBrace:
      return "`{`";
    case TokenKind::kRBrace:
      return "`}`";
    case TokenKind::kLBracket:
      return "`[`";
    case TokenKind::kRBracket:
      return "`]`";
    case TokenKind::kComma:
      return "`,`";
    case TokenKind::kSemicolon:
      return "`;`";
    case TokenKind::kDot:
      return "`.`";
    case TokenKind::kAt:
      return "`@`";
    case TokenKind::kAssign:
      return "`=`";
    case TokenKind::kEq:
      return "`==`";
    case TokenKind::kNe:
      return "`!=`";
    case TokenKind::kLt:
      return "`<`";
    case TokenKind::kLe:
      return "`<=`";
    case TokenKind::kGt:
      return "`>`";
    case TokenKind::kGe:
      return "`>=`";
    case TokenKind::kPlus:
      return "`+`";
    case TokenKind::kMinus:
      return "`-`";
    case TokenKind::kStar:
      return "`*`";
    case TokenKind::kSlash:
      return "`/`";
    case TokenKind::kPercent:
      return "`%`";
    case TokenKind::kAndAnd:
      return "`&&`";
    case TokenKind::kOrOr:
      return "`||`";
    case TokenKind::kBang:
      return "`!`";
    case TokenKind::kEnd:
      return "end of file";
  }
  return "?";
}

namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool Lex(std::string_view src, const std::string& file, std::vector<Token>* tokens,
         LexError* error) {
  tokens->clear();
  size_t i = 0;
  int line = 1;
  size_t line_start = 0;
  auto loc_at = [&](size_t pos) {
    return SourceLoc{file, line, static_cast<int>(pos - line_start) + 1};
  };
  auto fail = [&](size_t pos, std::string message) {
    error->loc = loc_at(pos);
    error->message = std::move(message);
    return false;
  };
  if (src.size() > kMaxSourceBytes) {
    return fail(0, "policy source is larger than " + std::to_string(kMaxSourceBytes) + " bytes");
  }
  while (i < src.size()) {
    char c = src[i];
    if (c == '\n') {
      ++i;
      ++line;
      line_start = i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
      while (i < src.size() && src[i] != '\n') ++i;
      continue;
    }
    Token t;
    t.loc = loc_at(i);
    size_t start = i;
    if (IsIdentStart(c)) {
      while (i < src.size() && IsIdentChar(src[i])) ++i;
      t.kind = TokenKind::kIdent;
      t.text = std::string(src.substr(start, i - start));
    } else if (IsDigit(c)) {
      while (i < src.size() && IsDigit(src[i])) ++i;
      bool is_double = false;
      if (i + 1 < src.size() && src[i] == '.' && IsDigit(src[i + 1])) {
        is_double = true;
        ++i;
        while (i < src.size() && IsDigit(src[i])) ++i;
      }
      if (i < src.size() && IsIdentChar(src[i])) return fail(i, "malformed number");
      t.text = std::string(src.substr(start, i - start));
      errno = 0;
      if (is_double) {
        t.kind = TokenKind::kDouble;
        t.double_value = std::strtod(t.text.c_str(), nullptr);
      } else {
        t.kind = TokenKind::kLong;
        t.long_value = std::strtoll(t.text.c_str(), nullptr, 10);
        if (errno == ERANGE) return fail(start, "integer `" + t.text + "` is out of range");
      }
    } else if (c == '"') {
      ++i;
      std::string value;
      bool closed = false;
      while (i < src.size()) {
        char d = src[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\n') break;
        if (d == '\\') {
          if (i + 1 >= src.size()) break;
          char e = src[i + 1];
          switch (e) {
            case '"':
              value += '"';
              break;
            case '\\':
              value += '\\';
              break;
            case 'n':
              value += '\n';
              break;
            case 't':
              value += '\t';
              break;
            case 'r':
              value += '\r';
              break;
            default:
              return fail(i, std::string("unknown escape `\\") + e + "` in string");
          }
          i += 2;
          continue;
        }
        value += d;
        ++i;
      }
      if (!closed) return fail(start, "unterminated string");
      t.kind = TokenKind::kString;
      t.text = std::move(value);
    } else {
      auto two = [&](char next) { return i + 1 < src.size() && src[i + 1] == next; };
      size_t len = 1;
      switch (c) {
        case '(':
          t.kind = TokenKind::kLParen;
          break;
        case ')':
          t.kind = TokenKind::kRParen;
          break;
        case '{':
          t.kind = TokenKind::kLBrace;
          break;
        case '}':
          t.kind = TokenKind::kRBrace;
          break;
        case '[':
          t.kind = TokenKind::kLBracket;
          break;
        case ']':
          t.kind = TokenKind::kRBracket;
          break;
        case ',':
          t.kind = TokenKind::kComma;
          break;
        case ';':
          t.kind = TokenKind::kSemicolon;
          break;
        case '.':
          t.kind = TokenKind::kDot;
          break;
        case '@':
          t.kind = TokenKind::kAt;
          break;
        case '+':
          t.kind = TokenKind::kPlus;
          break;
        case '-':
          t.kind = TokenKind::kMinus;
          break;
        case '*':
          t.kind = TokenKind::kStar;
          break;
        case '/':
          t.kind = TokenKind::kSlash;
          break;
        case '%':
          t.kind = TokenKind::kPercent;
          break;
        case '=':
          if (two('=')) {
            t.kind = TokenKind::kEq;
            len = 2;
          } else {
            t.kind = TokenKind::kAssign;
          }
          break;
        case '!':
          if (two('=')) {
            t.kind = TokenKind::kNe;
            len = 2;
          } else {
            t.kind = TokenKind::kBang;
          }
          break;
        case '<':
          if (two('=')) {
            t.kind = TokenKind::kLe;
            len = 2;
          } else {
            t.kind = TokenKind::kLt;
          }
          break;
        case '>':
          if (two('=')) {
            t.kind = TokenKind::kGe;
            len = 2;
          } else {
            t.kind = TokenKind::kGt;
          }
          break;
        case '&':
          if (!two('&')) return fail(i, "unexpected `&` (did you mean `&&`?)");
          t.kind = TokenKind::kAndAnd;
          len = 2;
          break;
        case '|':
          if (!two('|')) return fail(i, "unexpected `|` (did you mean `||`?)");
          t.kind = TokenKind::kOrOr;
          len = 2;
          break;
        default: {
          unsigned char u = static_cast<unsigned char>(c);
          char buf[16];
          if (u >= 0x20 && u < 0x7f) {
            snprintf(buf, sizeof buf, "`%c`", c);
          } else {
            snprintf(buf, sizeof buf, "byte 0x%02x", u);
          }
          return fail(i, std::string("unexpected character ") + buf);
        }
      }
      i += len;
      t.text = std::string(src.substr(start, len));
    }
    tokens->push_back(std::move(t));
  }
  Token end;
  end.kind = TokenKind::kEnd;
  end.loc = loc_at(i);
  tokens->push_back(std::move(end));
  return true;
}

}  // namespace steward::policy
