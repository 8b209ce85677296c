#include "policy/parser.h"

#include <set>
#include <utility>

#include "policy/lexer.h"

namespace steward::policy {

const char* OpText(Op op) {
  switch (op) {
    case Op::kNone:
      return "?";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kMod:
      return "%";
  }
  return "?";
}

const char* EffectName(Effect e) {
  switch (e) {
    case Effect::kPermit:
      return "permit";
    case Effect::kForbid:
      return "forbid";
    case Effect::kObligate:
      return "obligate";
  }
  return "?";
}

namespace {

const std::set<std::string>& ReservedWords() {
  static const std::set<std::string> words = {"true",   "false",  "in",       "has",    "and",
                                              "or",     "not",    "when",     "unless", "with",
                                              "permit", "forbid", "obligate", "const"};
  return words;
}

// Thrown only inside this file to unwind the recursive descent; ParseFile
// catches it, so no exception crosses the module boundary.
struct ParseAbort {};

class Parser {
 public:
  Parser(std::vector<Token> tokens, ParseError* error)
      : tokens_(std::move(tokens)), error_(error) {}

  void ParseInto(PolicyFile* file) {
    while (!At(TokenKind::kEnd)) {
      if (IsIdent("const")) {
        file->constants.push_back(ParseConst());
      } else {
        file->rules.push_back(ParseRule(file->path));
      }
    }
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  bool At(TokenKind k) const { return Peek().kind == k; }
  bool IsIdent(const char* word) const {
    return Peek().kind == TokenKind::kIdent && Peek().text == word;
  }
  Token Next() {
    Token t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  [[noreturn]] void Fail(const SourceLoc& loc, std::string message) {
    error_->loc = loc;
    error_->message = std::move(message);
    throw ParseAbort{};
  }
  std::string Describe(const Token& t) {
    if (t.kind == TokenKind::kIdent) return "`" + t.text + "`";
    if (t.kind == TokenKind::kString) return "string \"" + t.text + "\"";
    if (t.kind == TokenKind::kLong || t.kind == TokenKind::kDouble) return "`" + t.text + "`";
    return TokenKindName(t.kind);
  }
  Token Expect(TokenKind k, const char* context) {
    if (!At(k)) {
      Fail(Peek().loc, std::string("expected ") + TokenKindName(k) + " " + context + ", found " +
                           Describe(Peek()));
    }
    return Next();
  }
  void ExpectWord(const char* word, const char* context) {
    if (!IsIdent(word)) {
      Fail(Peek().loc,
           std::string("expected `") + word + "` " + context + ", found " + Describe(Peek()));
    }
    Next();
  }

  ConstDecl ParseConst() {
    ConstDecl c;
    c.loc = Next().loc;  // const
    Token name = Expect(TokenKind::kIdent, "after `const`");
    if (ReservedWords().count(name.text) || name.text == "principal" || name.text == "action" ||
        name.text == "resource" || name.text == "context") {
      Fail(name.loc, "`" + name.text + "` is reserved and cannot name a constant");
    }
    c.name = name.text;
    Expect(TokenKind::kAssign, "after the constant name");
    c.value = ParseExpr();
    Expect(TokenKind::kSemicolon, "after the constant value");
    return c;
  }

  Rule ParseRule(const std::string& path) {
    Rule rule;
    while (At(TokenKind::kAt)) {
      Annotation a;
      a.loc = Next().loc;
      a.key = Expect(TokenKind::kIdent, "after `@`").text;
      Expect(TokenKind::kLParen, "after the annotation name");
      a.value = Expect(TokenKind::kString, "as the annotation value").text;
      Expect(TokenKind::kRParen, "after the annotation value");
      rule.annotations.push_back(std::move(a));
    }
    const Token& effect = Peek();
    if (effect.kind != TokenKind::kIdent ||
        (effect.text != "permit" && effect.text != "forbid" && effect.text != "obligate")) {
      Fail(effect.loc,
           "expected `permit`, `forbid`, `obligate` or `const`, found " + Describe(effect));
    }
    rule.loc = effect.loc;
    rule.effect = effect.text == "permit"   ? Effect::kPermit
                  : effect.text == "forbid" ? Effect::kForbid
                                            : Effect::kObligate;
    Next();
    std::vector<ExprPtr> conjuncts;
    if (At(TokenKind::kLParen)) {
      Next();
      if (!At(TokenKind::kRParen)) {
        while (true) {
          ExprPtr e = ParseExpr();
          // `principal`, `action`, `resource` alone are Cedar's "any" scope.
          bool any_scope =
              e->kind == ExprKind::kVar && (e->name == "principal" || e->name == "action" ||
                                            e->name == "resource" || e->name == "context");
          if (!any_scope) conjuncts.push_back(std::move(e));
          if (!At(TokenKind::kComma)) break;
          Next();
        }
      }
      Expect(TokenKind::kRParen, "to close the rule head");
    }
    while (IsIdent("when") || IsIdent("unless")) {
      bool negate = Peek().text == "unless";
      SourceLoc loc = Next().loc;
      Expect(TokenKind::kLBrace, negate ? "after `unless`" : "after `when`");
      ExprPtr e = ParseExpr();
      Expect(TokenKind::kRBrace, "to close the condition block");
      if (negate) {
        auto n = std::make_unique<Expr>(ExprKind::kNot, loc);
        n->kids.push_back(std::move(e));
        e = Seal(std::move(n));
      }
      conjuncts.push_back(std::move(e));
    }
    for (auto& c : conjuncts) {
      if (!rule.condition) {
        rule.condition = std::move(c);
      } else {
        auto a = std::make_unique<Expr>(ExprKind::kAnd, c->loc);
        a->kids.push_back(std::move(rule.condition));
        a->kids.push_back(std::move(c));
        rule.condition = Seal(std::move(a));
      }
    }
    if (IsIdent("with")) {
      Next();
      while (true) {
        ObligationCall call;
        Token name = Expect(TokenKind::kIdent, "as an obligation name after `with`");
        call.name = name.text;
        call.loc = name.loc;
        Expect(TokenKind::kLParen, "after the obligation name");
        if (!At(TokenKind::kRParen)) {
          while (true) {
            call.args.push_back(ParseExpr());
            if (!At(TokenKind::kComma)) break;
            Next();
          }
        }
        Expect(TokenKind::kRParen, "to close the obligation arguments");
        rule.obligations.push_back(std::move(call));
        if (!At(TokenKind::kComma)) break;
        Next();
      }
    }
    if (!At(TokenKind::kSemicolon)) {
      Fail(Peek().loc,
           "expected `when`, `unless`, `with` or `;` to end the rule, found " + Describe(Peek()));
    }
    Next();
    size_t slash = path.find_last_of('/');
    rule.id = (slash == std::string::npos ? path : path.substr(slash + 1)) + ":" +
              std::to_string(rule.loc.line);
    return rule;
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxNesting) {
        p_->Fail(p_->Peek().loc, "expression nested deeper than " + std::to_string(kMaxNesting));
      }
    }
    ~DepthGuard() { --p_->depth_; }
    Parser* p_;
  };

  ExprPtr Binary(ExprKind kind, Op op, SourceLoc loc, ExprPtr a, ExprPtr b) {
    auto e = std::make_unique<Expr>(kind, std::move(loc));
    e->op = op;
    e->kids.push_back(std::move(a));
    e->kids.push_back(std::move(b));
    return Seal(std::move(e));
  }
  // Records the node's height and refuses trees too tall to walk safely
  // (long `a + a + ...` chains build deep trees without nesting).
  ExprPtr Seal(ExprPtr e) {
    int h = 0;
    for (const auto& k : e->kids) h = std::max(h, k->height);
    e->height = h + 1;
    if (e->height > kMaxHeight) {
      Fail(e->loc, "expression is too deep (more than " + std::to_string(kMaxHeight) + " levels)");
    }
    return e;
  }

  ExprPtr ParseExpr() {
    DepthGuard guard(this);
    return ParseOr();
  }
  ExprPtr ParseOr() {
    ExprPtr left = ParseAnd();
    while (At(TokenKind::kOrOr) || IsIdent("or")) {
      SourceLoc loc = Next().loc;
      left = Binary(ExprKind::kOr, Op::kNone, loc, std::move(left), ParseAnd());
    }
    return left;
  }
  ExprPtr ParseAnd() {
    ExprPtr left = ParseNot();
    while (At(TokenKind::kAndAnd) || IsIdent("and")) {
      SourceLoc loc = Next().loc;
      left = Binary(ExprKind::kAnd, Op::kNone, loc, std::move(left), ParseNot());
    }
    return left;
  }
  ExprPtr ParseNot() {
    if (At(TokenKind::kBang) || IsIdent("not")) {
      DepthGuard guard(this);
      SourceLoc loc = Next().loc;
      auto e = std::make_unique<Expr>(ExprKind::kNot, loc);
      e->kids.push_back(ParseNot());
      return Seal(std::move(e));
    }
    return ParseRelation();
  }
  ExprPtr ParseRelation() {
    ExprPtr left = ParseSum();
    Op op = Op::kNone;
    switch (Peek().kind) {
      case TokenKind::kEq:
        op = Op::kEq;
        break;
      case TokenKind::kNe:
        op = Op::kNe;
        break;
      case TokenKind::kLt:
        op = Op::kLt;
        break;
      case TokenKind::kLe:
        op = Op::kLe;
        break;
      case TokenKind::kGt:
        op = Op::kGt;
        break;
      case TokenKind::kGe:
        op = Op::kGe;
        break;
      default:
        break;
    }
    if (op != Op::kNone) {
      SourceLoc loc = Next().loc;
      return Binary(ExprKind::kCompare, op, loc, std::move(left), ParseSum());
    }
    if (IsIdent("in")) {
      SourceLoc loc = Next().loc;
      return Binary(ExprKind::kIn, Op::kNone, loc, std::move(left), ParseSum());
    }
    if (IsIdent("has")) {
      SourceLoc loc = Next().loc;
      auto e = std::make_unique<Expr>(ExprKind::kHas, loc);
      if (At(TokenKind::kIdent) || At(TokenKind::kString)) {
        e->name = Next().text;
      } else {
        Fail(Peek().loc,
             "expected an attribute name or string after `has`, found " + Describe(Peek()));
      }
      e->kids.push_back(std::move(left));
      return Seal(std::move(e));
    }
    return left;
  }
  ExprPtr ParseSum() {
    ExprPtr left = ParseProduct();
    while (At(TokenKind::kPlus) || At(TokenKind::kMinus)) {
      Op op = At(TokenKind::kPlus) ? Op::kAdd : Op::kSub;
      SourceLoc loc = Next().loc;
      left = Binary(ExprKind::kArith, op, loc, std::move(left), ParseProduct());
    }
    return left;
  }
  ExprPtr ParseProduct() {
    ExprPtr left = ParseUnary();
    while (At(TokenKind::kStar) || At(TokenKind::kSlash) || At(TokenKind::kPercent)) {
      Op op = At(TokenKind::kStar) ? Op::kMul : At(TokenKind::kSlash) ? Op::kDiv : Op::kMod;
      SourceLoc loc = Next().loc;
      left = Binary(ExprKind::kArith, op, loc, std::move(left), ParseUnary());
    }
    return left;
  }
  ExprPtr ParseUnary() {
    if (At(TokenKind::kMinus)) {
      DepthGuard guard(this);
      SourceLoc loc = Next().loc;
      auto e = std::make_unique<Expr>(ExprKind::kNeg, loc);
      e->kids.push_back(ParseUnary());
      return Seal(std::move(e));
    }
    return ParsePostfix();
  }
  ExprPtr ParsePostfix() {
    ExprPtr e = ParsePrimary();
    while (true) {
      if (At(TokenKind::kDot)) {
        Next();
        Token name = Expect(TokenKind::kIdent, "after `.`");
        if (At(TokenKind::kLParen)) {
          Next();
          auto call = std::make_unique<Expr>(ExprKind::kCall, name.loc);
          call->name = name.text;
          call->kids.push_back(std::move(e));
          if (!At(TokenKind::kRParen)) {
            while (true) {
              call->kids.push_back(ParseExpr());
              if (!At(TokenKind::kComma)) break;
              Next();
            }
          }
          Expect(TokenKind::kRParen, "to close the method arguments");
          e = Seal(std::move(call));
        } else {
          auto m = std::make_unique<Expr>(ExprKind::kMember, name.loc);
          m->name = name.text;
          m->kids.push_back(std::move(e));
          e = Seal(std::move(m));
        }
      } else if (At(TokenKind::kLBracket)) {
        SourceLoc loc = Next().loc;
        auto idx = std::make_unique<Expr>(ExprKind::kIndex, loc);
        idx->kids.push_back(std::move(e));
        idx->kids.push_back(ParseExpr());
        Expect(TokenKind::kRBracket, "to close the index");
        e = Seal(std::move(idx));
      } else {
        return e;
      }
    }
  }
  ExprPtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kLong: {
        auto e = std::make_unique<Expr>(ExprKind::kLong, t.loc);
        e->long_value = t.long_value;
        Next();
        return e;
      }
      case TokenKind::kDouble: {
        auto e = std::make_unique<Expr>(ExprKind::kDouble, t.loc);
        e->double_value = t.double_value;
        Next();
        return e;
      }
      case TokenKind::kString: {
        auto e = std::make_unique<Expr>(ExprKind::kString, t.loc);
        e->string_value = t.text;
        Next();
        return e;
      }
      case TokenKind::kLParen: {
        Next();
        ExprPtr e = ParseExpr();
        Expect(TokenKind::kRParen, "to close the parenthesis");
        return e;
      }
      case TokenKind::kLBracket: {
        auto e = std::make_unique<Expr>(ExprKind::kSet, t.loc);
        Next();
        while (!At(TokenKind::kRBracket)) {
          e->kids.push_back(ParseExpr());
          if (!At(TokenKind::kComma)) break;
          Next();
        }
        Expect(TokenKind::kRBracket, "to close the list");
        return Seal(std::move(e));
      }
      case TokenKind::kIdent: {
        if (t.text == "true" || t.text == "false") {
          auto e = std::make_unique<Expr>(ExprKind::kBool, t.loc);
          e->bool_value = t.text == "true";
          Next();
          return e;
        }
        if (ReservedWords().count(t.text)) {
          Fail(t.loc, "unexpected keyword `" + t.text + "` in an expression");
        }
        auto e = std::make_unique<Expr>(ExprKind::kVar, t.loc);
        e->name = t.text;
        Next();
        return e;
      }
      default:
        Fail(t.loc, "expected an expression, found " + Describe(t));
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  ParseError* error_;
};

}  // namespace

bool ParseFile(std::string_view source, const std::string& path, PolicyFile* out,
               ParseError* error) {
  out->path = path;
  std::vector<Token> tokens;
  LexError lex_error;
  if (!Lex(source, path, &tokens, &lex_error)) {
    error->loc = lex_error.loc;
    error->message = lex_error.message;
    return false;
  }
  Parser parser(std::move(tokens), error);
  try {
    parser.ParseInto(out);
  } catch (const ParseAbort&) {
    return false;
  }
  return true;
}

}  // namespace steward::policy
