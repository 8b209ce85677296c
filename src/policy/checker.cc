#include "policy/checker.h"

#include <algorithm>
#include <map>
#include <set>

#include "policy/evaluator.h"
#include "policy/regex.h"
#include "policy/schema.h"

namespace steward::policy {

bool IsEntityTypeName(std::string_view name) {
  if (name.empty() || !(name[0] >= 'A' && name[0] <= 'Z')) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

ExprPtr CloneExpr(const Expr& e) {
  auto c = std::make_unique<Expr>(e.kind, e.loc);
  for (const auto& k : e.kids) c->kids.push_back(CloneExpr(*k));
  c->name = e.name;
  c->bool_value = e.bool_value;
  c->long_value = e.long_value;
  c->double_value = e.double_value;
  c->string_value = e.string_value;
  c->op = e.op;
  c->height = e.height;
  c->type = e.type;
  c->slot = e.slot;
  c->method = e.method;
  c->finding_field = e.finding_field;
  c->set_strings = e.set_strings;
  c->set_longs = e.set_longs;
  c->regex = e.regex;
  c->cidr_addr = e.cidr_addr;
  c->cidr_mask = e.cidr_mask;
  return c;
}

namespace {

struct CheckAbort {};  // unwinds one rule's check; caught in this file

bool IsLiteral(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBool:
    case ExprKind::kLong:
    case ExprKind::kDouble:
    case ExprKind::kString:
    case ExprKind::kSet:
      return true;
    default:
      return false;
  }
}

bool SetElementFits(Type set, Type elem) {
  if (set == Type::kEmptySet) return elem == Type::kString || elem == Type::kLong;
  return (set == Type::kStringSet && elem == Type::kString) ||
         (set == Type::kLongSet && elem == Type::kLong);
}

bool SetsCompatible(Type a, Type b) {
  return IsSet(a) && IsSet(b) && (a == b || a == Type::kEmptySet || b == Type::kEmptySet);
}

std::string Quote(const std::string& s) { return "`" + s + "`"; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

int DimOf(const Expr& e) {
  if (e.kind != ExprKind::kAttr) return -1;
  switch (static_cast<Attr>(e.slot)) {
    case Attr::kPrincipalRole:
      return static_cast<int>(Dim::kRole);
    case Attr::kAction:
      return static_cast<int>(Dim::kAction);
    case Attr::kResourceName:
      return static_cast<int>(Dim::kModel);
    default:
      return -1;
  }
}

const char* DimName(int d) {
  static const char* names[] = {"principal.role", "action", "resource.name"};
  return names[d];
}

class Checker {
 public:
  explicit Checker(std::vector<CheckError>* errors) : errors_(errors) {}

  void CheckConstant(ConstDecl* c) {
    try {
      if (constants_.count(c->name))
        Fail(c->loc, "constant " + Quote(c->name) + " is defined twice");
      c->value = Check(std::move(c->value));
      if (!IsLiteral(*c->value)) {
        Fail(c->value->loc, "constant " + Quote(c->name) +
                                " must be a literal (string, number, bool or list of literals)");
      }
      constants_[c->name] = c->value.get();
    } catch (const CheckAbort&) {
    }
  }

  void CheckRule(Rule* rule) {
    try {
      CheckAnnotations(rule);
      if (rule->condition) {
        rule->condition = Check(std::move(rule->condition));
        if (rule->condition->type != Type::kBool) {
          Fail(rule->condition->loc,
               std::string("rule condition must be Bool, got ") + TypeName(rule->condition->type));
        }
        if (rule->condition->kind == ExprKind::kBool) {
          if (!rule->condition->bool_value) {
            Fail(rule->loc,
                 "rule " + Quote(rule->id) + " can never apply: its condition is always false");
          }
          rule->condition.reset();
        }
      }
      ExtractScope(rule);
      CheckObligations(rule);
    } catch (const CheckAbort&) {
    }
  }

  bool failed() const { return failed_; }

 private:
  [[noreturn]] void Fail(const SourceLoc& loc, std::string message) {
    CheckError e;
    e.loc = loc;
    e.message = std::move(message);
    errors_->push_back(std::move(e));
    failed_ = true;
    throw CheckAbort{};
  }

  void CheckAnnotations(Rule* rule) {
    static const std::set<std::string> known = {"id", "message", "description", "owner"};
    std::set<std::string> seen;
    for (const auto& a : rule->annotations) {
      if (!known.count(a.key)) {
        Fail(a.loc, "unknown annotation @" + a.key + " (known: id, message, description, owner)");
      }
      if (!seen.insert(a.key).second) Fail(a.loc, "annotation @" + a.key + " given twice");
      if (a.key == "id") {
        if (a.value.empty()) Fail(a.loc, "@id must not be empty");
        for (char c : a.value) {
          bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
          if (!ok) Fail(a.loc, "@id may contain only letters, digits and - _ . :");
        }
        rule->id = a.value;
      }
      if (a.key == "message") rule->message = a.value;
    }
  }

  // Replaces a literal-only subtree by its value, evaluated once here.
  ExprPtr Fold(ExprPtr e) {
    bool all_literal = !e->kids.empty();
    for (const auto& k : e->kids) all_literal = all_literal && IsLiteral(*k);
    if (!all_literal || e->kind == ExprKind::kSet) return e;
    Request empty;
    Value v;
    EvalError err;
    if (!Eval(*e, empty, &v, &err)) {
      Fail(err.loc, "constant expression fails: " + err.message);
    }
    ExprPtr lit;
    switch (v.type) {
      case Type::kBool:
        lit = std::make_unique<Expr>(ExprKind::kBool, e->loc);
        lit->bool_value = v.b;
        break;
      case Type::kLong:
        lit = std::make_unique<Expr>(ExprKind::kLong, e->loc);
        lit->long_value = v.i;
        break;
      case Type::kDouble:
        lit = std::make_unique<Expr>(ExprKind::kDouble, e->loc);
        lit->double_value = v.d;
        break;
      default:
        return e;  // strings/sets from methods: not produced by any operator today
    }
    lit->type = v.type;
    return lit;
  }

  ExprPtr Check(ExprPtr e) {
    switch (e->kind) {
      case ExprKind::kBool:
        e->type = Type::kBool;
        return e;
      case ExprKind::kLong:
        e->type = Type::kLong;
        return e;
      case ExprKind::kDouble:
        e->type = Type::kDouble;
        return e;
      case ExprKind::kString:
        e->type = Type::kString;
        return e;
      case ExprKind::kSet:
        return CheckSet(std::move(e));
      case ExprKind::kVar:
        return CheckVar(std::move(e));
      case ExprKind::kMember:
        return CheckMember(std::move(e));
      case ExprKind::kIndex:
        return CheckIndex(std::move(e));
      case ExprKind::kCall:
        return CheckCall(std::move(e));
      case ExprKind::kNot: {
        e->kids[0] = Check(std::move(e->kids[0]));
        Expect(*e->kids[0], Type::kBool, "`not`");
        e->type = Type::kBool;
        return Fold(std::move(e));
      }
      case ExprKind::kNeg: {
        e->kids[0] = Check(std::move(e->kids[0]));
        if (!IsNumeric(e->kids[0]->type)) {
          Fail(e->kids[0]->loc,
               std::string("unary `-` needs a number, got ") + TypeName(e->kids[0]->type));
        }
        e->type = e->kids[0]->type;
        return Fold(std::move(e));
      }
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        const char* what = e->kind == ExprKind::kAnd ? "`and`" : "`or`";
        e->kids[0] = Check(std::move(e->kids[0]));
        e->kids[1] = Check(std::move(e->kids[1]));
        Expect(*e->kids[0], Type::kBool, what);
        Expect(*e->kids[1], Type::kBool, what);
        e->type = Type::kBool;
        bool is_and = e->kind == ExprKind::kAnd;
        for (int i = 0; i < 2; ++i) {
          const Expr& k = *e->kids[i];
          if (k.kind != ExprKind::kBool) continue;
          // false && x -> false; true || x -> true; true && x -> x; false || x -> x.
          if (k.bool_value != is_and) return std::move(e->kids[i]);
          return std::move(e->kids[1 - i]);
        }
        return e;
      }
      case ExprKind::kCompare:
        return CheckCompare(std::move(e));
      case ExprKind::kArith: {
        e->kids[0] = Check(std::move(e->kids[0]));
        e->kids[1] = Check(std::move(e->kids[1]));
        for (const auto& k : e->kids) {
          if (!IsNumeric(k->type)) {
            Fail(k->loc,
                 std::string("`") + OpText(e->op) + "` needs numbers, got " + TypeName(k->type));
          }
        }
        e->type = e->kids[0]->type == Type::kLong && e->kids[1]->type == Type::kLong
                      ? Type::kLong
                      : Type::kDouble;
        return Fold(std::move(e));
      }
      case ExprKind::kIn:
        return CheckIn(std::move(e));
      case ExprKind::kHas:
        return CheckHas(std::move(e));
      case ExprKind::kAttr:
      case ExprKind::kFinding:
        return e;  // already checked (a cloned constant)
    }
    Fail(e->loc, "unsupported expression");
  }

  void Expect(const Expr& e, Type want, const char* where) {
    if (e.type != want) {
      Fail(e.loc, std::string(where) + " needs " + TypeName(want) + ", got " + TypeName(e.type));
    }
  }

  ExprPtr CheckSet(ExprPtr e) {
    Type elem = Type::kUnknown;
    for (auto& k : e->kids) {
      k = Check(std::move(k));
      if (k->kind != ExprKind::kString && k->kind != ExprKind::kLong) {
        Fail(k->loc, "list elements must be string or integer literals (or constants)");
      }
      if (elem != Type::kUnknown && k->type != elem) {
        Fail(k->loc, std::string("list mixes ") + TypeName(elem) + " and " + TypeName(k->type));
      }
      elem = k->type;
      if (k->kind == ExprKind::kString) {
        e->set_strings.push_back(k->string_value);
      } else {
        e->set_longs.push_back(k->long_value);
      }
    }
    std::sort(e->set_strings.begin(), e->set_strings.end());
    e->set_strings.erase(std::unique(e->set_strings.begin(), e->set_strings.end()),
                         e->set_strings.end());
    std::sort(e->set_longs.begin(), e->set_longs.end());
    e->set_longs.erase(std::unique(e->set_longs.begin(), e->set_longs.end()), e->set_longs.end());
    e->kids.clear();
    e->type = elem == Type::kString ? Type::kStringSet
              : elem == Type::kLong ? Type::kLongSet
                                    : Type::kEmptySet;
    return e;
  }

  ExprPtr CheckVar(ExprPtr e) {
    const std::string& n = e->name;
    if (n == "principal" || n == "resource" || n == "context") {
      e->type = Type::kRecord;
      return e;
    }
    if (n == "action") {
      auto a = std::make_unique<Expr>(ExprKind::kAttr, e->loc);
      a->slot = static_cast<int>(Attr::kAction);
      a->type = Type::kString;
      a->name = "action";
      return a;
    }
    auto it = constants_.find(n);
    if (it != constants_.end()) {
      ExprPtr c = CloneExpr(*it->second);
      c->loc = e->loc;
      return c;
    }
    Fail(e->loc, "unknown name " + Quote(n) +
                     " (expected principal, action, resource, context or a constant)");
  }

  ExprPtr CheckMember(ExprPtr e) {
    e->kids[0] = Check(std::move(e->kids[0]));
    Expr& base = *e->kids[0];
    if (base.type == Type::kRecord) {
      std::string path = base.name + "." + e->name;
      if (const AttrInfo* info = FindAttr(path)) {
        auto a = std::make_unique<Expr>(ExprKind::kAttr, e->loc);
        a->slot = static_cast<int>(info->attr);
        a->type = info->type;
        a->name = path;
        return a;
      }
      if (IsRecordPath(path)) {
        auto r = std::make_unique<Expr>(ExprKind::kVar, e->loc);
        r->name = path;
        r->type = Type::kRecord;
        return r;
      }
      Fail(e->loc, "unknown attribute " + Quote(path) + " (" + base.name +
                       " has: " + Join(ChildrenOf(base.name)) + ")");
    }
    if (base.type == Type::kFindingMap) return FindingOf(std::move(e), e->name, e->loc);
    if (base.type == Type::kFinding) {
      if (e->name == "count") {
        base.finding_field = FindingField::kCount;
        base.type = Type::kLong;
      } else if (e->name == "max_score") {
        base.finding_field = FindingField::kMaxScore;
        base.type = Type::kDouble;
      } else {
        Fail(e->loc, "unknown finding attribute " + Quote(e->name) + " (known: count, max_score)");
      }
      return std::move(e->kids[0]);
    }
    Fail(e->loc, "attribute " + Quote(e->name) + " of a " + TypeName(base.type) +
                     ": only records and findings have attributes");
  }

  ExprPtr FindingOf(ExprPtr holder, const std::string& type, const SourceLoc& loc) {
    if (!IsEntityTypeName(type)) {
      Fail(loc, "entity type " + Quote(type) + " must be upper snake case, e.g. EMAIL_ADDRESS");
    }
    auto f = std::make_unique<Expr>(ExprKind::kFinding, holder->loc);
    f->name = type;
    f->type = Type::kFinding;
    return f;
  }

  ExprPtr CheckIndex(ExprPtr e) {
    e->kids[0] = Check(std::move(e->kids[0]));
    e->kids[1] = Check(std::move(e->kids[1]));
    if (e->kids[0]->type != Type::kFindingMap) {
      Fail(e->loc, std::string("only context.findings can be indexed, not a ") +
                       TypeName(e->kids[0]->type));
    }
    if (e->kids[1]->kind != ExprKind::kString) {
      Fail(e->kids[1]->loc, "the index of context.findings must be a string literal");
    }
    std::string key = e->kids[1]->string_value;
    SourceLoc loc = e->kids[1]->loc;
    return FindingOf(std::move(e), key, loc);
  }

  ExprPtr CheckCompare(ExprPtr e) {
    e->kids[0] = Check(std::move(e->kids[0]));
    e->kids[1] = Check(std::move(e->kids[1]));
    Type a = e->kids[0]->type, b = e->kids[1]->type;
    const char* op = OpText(e->op);
    bool equality = e->op == Op::kEq || e->op == Op::kNe;
    bool ok;
    if (equality) {
      ok = (IsNumeric(a) && IsNumeric(b)) || (a == b && (a == Type::kString || a == Type::kBool));
    } else {
      ok = IsNumeric(a) && IsNumeric(b);
    }
    if (!ok) {
      Fail(e->loc, std::string("cannot compare ") + TypeName(a) + " " + op + " " + TypeName(b) +
                       (equality ? "" : " (ordering needs numbers)"));
    }
    e->type = Type::kBool;
    return Fold(std::move(e));
  }

  ExprPtr CheckIn(ExprPtr e) {
    e->kids[0] = Check(std::move(e->kids[0]));
    e->kids[1] = Check(std::move(e->kids[1]));
    Type x = e->kids[0]->type, s = e->kids[1]->type;
    if (s == Type::kFindingMap) {
      if (x != Type::kString) Fail(e->kids[0]->loc, "`in context.findings` needs a String");
    } else if (!IsSet(s)) {
      Fail(e->kids[1]->loc,
           std::string("right side of `in` must be a list or set, got ") + TypeName(s));
    } else if (!SetElementFits(s, x)) {
      Fail(e->loc, std::string("cannot look for a ") + TypeName(x) + " in a " + TypeName(s));
    }
    e->type = Type::kBool;
    return Fold(std::move(e));
  }

  ExprPtr CheckHas(ExprPtr e) {
    e->kids[0] = Check(std::move(e->kids[0]));
    Expr& base = *e->kids[0];
    e->type = Type::kBool;
    if (base.type == Type::kRecord) {
      std::string path = base.name + "." + e->name;
      const AttrInfo* info = FindAttr(path);
      if (!info) {
        Fail(e->loc, "unknown attribute " + Quote(path) + " after `has` (" + base.name +
                         " has: " + Join(ChildrenOf(base.name)) + ")");
      }
      e->slot = static_cast<int>(info->attr);
      e->kids.clear();
      return e;
    }
    if (base.type == Type::kFindingMap) {
      if (!IsEntityTypeName(e->name)) {
        Fail(e->loc, "entity type " + Quote(e->name) + " must be upper snake case");
      }
      return e;
    }
    if (base.type == Type::kStringSet || base.type == Type::kEmptySet) return Fold(std::move(e));
    Fail(e->loc, std::string("`has` needs a record, context.findings or a set of strings, got ") +
                     TypeName(base.type));
  }

  ExprPtr CheckCall(ExprPtr e) {
    for (auto& k : e->kids) k = Check(std::move(k));
    static const std::map<std::string, Method> methods = {{"startsWith", Method::kStartsWith},
                                                          {"endsWith", Method::kEndsWith},
                                                          {"contains", Method::kContains},
                                                          {"containsAny", Method::kContainsAny},
                                                          {"containsAll", Method::kContainsAll},
                                                          {"matches", Method::kMatches},
                                                          {"size", Method::kSize},
                                                          {"inCidr", Method::kInCidr}};
    auto it = methods.find(e->name);
    if (it == methods.end()) {
      Fail(e->loc, "unknown method " + Quote(e->name) +
                       " (known: startsWith, endsWith, contains, containsAny, containsAll, "
                       "matches, size, inCidr)");
    }
    e->method = it->second;
    Type recv = e->kids[0]->type;
    size_t nargs = e->kids.size() - 1;
    auto want_args = [&](size_t n) {
      if (nargs != n) {
        Fail(e->loc, Quote(e->name) + " takes " + std::to_string(n) + " argument" +
                         (n == 1 ? "" : "s") + ", got " + std::to_string(nargs));
      }
    };
    auto want_recv = [&](bool ok, const char* what) {
      if (!ok) {
        Fail(e->loc, Quote(e->name) + " needs " + what + ", got " + TypeName(recv));
      }
    };
    auto arg_type = [&](size_t i) { return e->kids[i]->type; };
    e->type = Type::kBool;
    switch (e->method) {
      case Method::kStartsWith:
      case Method::kEndsWith:
        want_recv(recv == Type::kString, "a String");
        want_args(1);
        if (arg_type(1) != Type::kString)
          Fail(e->kids[1]->loc, Quote(e->name) + " needs a String argument");
        break;
      case Method::kContains:
        want_args(1);
        if (recv == Type::kString) {
          if (arg_type(1) != Type::kString)
            Fail(e->kids[1]->loc, "`contains` on a String needs a String");
        } else {
          want_recv(IsSet(recv), "a String or a set");
          if (!SetElementFits(recv, arg_type(1))) {
            Fail(e->kids[1]->loc, std::string("cannot look for a ") + TypeName(arg_type(1)) +
                                      " in a " + TypeName(recv));
          }
        }
        break;
      case Method::kContainsAny:
      case Method::kContainsAll:
        want_recv(IsSet(recv), "a set");
        want_args(1);
        if (!SetsCompatible(recv, arg_type(1))) {
          Fail(e->kids[1]->loc, Quote(e->name) + " needs a set of the same element type, got " +
                                    TypeName(arg_type(1)));
        }
        break;
      case Method::kMatches: {
        want_recv(recv == Type::kString, "a String");
        want_args(1);
        if (e->kids[1]->kind != ExprKind::kString) {
          Fail(e->kids[1]->loc, "`matches` needs a string literal pattern");
        }
        // One compiled database per distinct pattern in the bundle.
        auto& cached = regexes_[e->kids[1]->string_value];
        if (!cached) {
          auto re = Regex::Compile(e->kids[1]->string_value);
          if (!re.ok()) Fail(e->kids[1]->loc, re.status().message());
          cached = *re;
        }
        e->regex = cached;
        e->kids.pop_back();
        break;
      }
      case Method::kSize:
        want_recv(recv == Type::kString || IsSet(recv) || recv == Type::kFindingMap,
                  "a String, a set or context.findings");
        want_args(0);
        e->type = Type::kLong;
        break;
      case Method::kInCidr: {
        want_recv(recv == Type::kString, "a String");
        want_args(1);
        if (e->kids[1]->kind != ExprKind::kString) {
          Fail(e->kids[1]->loc, "`inCidr` needs a string literal like \"10.0.0.0/8\"");
        }
        const std::string& cidr = e->kids[1]->string_value;
        size_t slash = cidr.find('/');
        uint32_t addr = 0;
        int bits = -1;
        if (slash != std::string::npos &&
            ParseIpv4(std::string_view(cidr).substr(0, slash), &addr)) {
          std::string b = cidr.substr(slash + 1);
          if (!b.empty() && b.size() <= 2 && std::all_of(b.begin(), b.end(), ::isdigit))
            bits = std::stoi(b);
        }
        if (bits < 0 || bits > 32) {
          Fail(e->kids[1]->loc, "invalid IPv4 CIDR \"" + cidr + "\" (want a.b.c.d/n)");
        }
        e->cidr_mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
        e->cidr_addr = addr & e->cidr_mask;
        e->kids.pop_back();
        break;
      }
      case Method::kUnknown:
        break;
    }
    return Fold(std::move(e));
  }

  void ExtractScope(Rule* rule) {
    RuleScope& scope = rule->scope;
    std::vector<Expr*> conjuncts;
    std::vector<Expr*> stack;
    if (rule->condition) stack.push_back(rule->condition.get());
    while (!stack.empty()) {
      Expr* e = stack.back();
      stack.pop_back();
      if (e->kind == ExprKind::kAnd) {
        stack.push_back(e->kids[1].get());
        stack.push_back(e->kids[0].get());
      } else {
        conjuncts.push_back(e);
      }
    }
    for (Expr* c : conjuncts) {
      int dim = -1;
      std::vector<std::string> values;
      if (c->kind == ExprKind::kCompare && c->op == Op::kEq) {
        for (int side = 0; side < 2 && dim < 0; ++side) {
          const Expr& attr = *c->kids[side];
          const Expr& lit = *c->kids[1 - side];
          if (DimOf(attr) >= 0 && lit.kind == ExprKind::kString) {
            dim = DimOf(attr);
            values = {lit.string_value};
          }
        }
      } else if (c->kind == ExprKind::kIn && DimOf(*c->kids[0]) >= 0 &&
                 c->kids[1]->kind == ExprKind::kSet) {
        dim = DimOf(*c->kids[0]);
        values = c->kids[1]->set_strings;
      }
      if (dim < 0) {
        scope.residual = true;
        continue;
      }
      if (!scope.constrained[dim]) {
        scope.constrained[dim] = true;
        scope.values[dim] = values;
      } else {
        std::vector<std::string> both;
        std::set_intersection(scope.values[dim].begin(), scope.values[dim].end(), values.begin(),
                              values.end(), std::back_inserter(both));
        scope.values[dim] = std::move(both);
      }
      if (scope.values[dim].empty()) {
        Fail(c->loc, "rule " + Quote(rule->id) + " can never apply: no value of " + DimName(dim) +
                         " satisfies all its constraints");
      }
    }
  }

  std::string StringArg(const ObligationCall& call, size_t i, const char* what) {
    if (i >= call.args.size() || call.args[i]->kind != ExprKind::kString) {
      Fail(i < call.args.size() ? call.args[i]->loc : call.loc,
           Quote(call.name) + " argument " + std::to_string(i + 1) + " must be " + what);
    }
    return call.args[i]->string_value;
  }

  void OneOf(const ObligationCall& call, size_t i, const std::string& value,
             const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      Fail(call.args[i]->loc,
           Quote(call.name) + ": " + Quote(value) + " is not one of " + Join(allowed));
    }
  }

  void WantArgs(const ObligationCall& call, size_t min, size_t max) {
    if (call.args.size() < min || call.args.size() > max) {
      Fail(call.loc, Quote(call.name) + " takes " +
                         (min == max ? std::to_string(min)
                                     : std::to_string(min) + " to " + std::to_string(max)) +
                         " arguments, got " + std::to_string(call.args.size()));
    }
  }

  void CheckObligations(Rule* rule) {
    if (rule->effect == Effect::kForbid && !rule->obligations.empty()) {
      Fail(rule->obligations[0].loc, "forbid rules cannot carry obligations (`with`)");
    }
    if (rule->effect == Effect::kObligate && rule->obligations.empty()) {
      Fail(rule->loc, "obligate rule " + Quote(rule->id) + " has no obligations (`with ...`)");
    }
    std::set<std::string> kinds;
    for (auto& call : rule->obligations) {
      for (auto& a : call.args) a = Check(std::move(a));
      if (call.name == "redact") {
        call.kind = ObligationKind::kRedact;
        WantArgs(call, 1, 2);
        const Expr& types = *call.args[0];
        if (types.kind != ExprKind::kSet || types.type != Type::kStringSet) {
          Fail(types.loc, "`redact` argument 1 must be a non-empty list of entity types");
        }
        for (const auto& t : types.set_strings) {
          if (!IsEntityTypeName(t))
            Fail(types.loc, "entity type " + Quote(t) + " must be upper snake case");
        }
        call.types = types.set_strings;
        call.text = call.args.size() > 1 ? StringArg(call, 1, "a mode string") : "mask";
        if (call.args.size() > 1)
          OneOf(call, 1, call.text, {"mask", "redact", "hash", "pseudonymize"});
      } else if (call.name == "require_review") {
        call.kind = ObligationKind::kRequireReview;
        WantArgs(call, 1, 1);
        call.text = StringArg(call, 0, "a reason string");
      } else if (call.name == "route") {
        call.kind = ObligationKind::kRoute;
        WantArgs(call, 1, 1);
        call.text = StringArg(call, 0, "a \"model@version\" string");
        size_t at = call.text.find('@');
        if (call.text.empty() || at == 0 ||
            (at != std::string::npos && at + 1 == call.text.size()) ||
            call.text.find_first_of(" \t\n,()") != std::string::npos) {
          Fail(call.args[0]->loc,
               "`route` wants \"model\" or \"model@version\", got \"" + call.text + "\"");
        }
      } else if (call.name == "limit") {
        call.kind = ObligationKind::kLimit;
        WantArgs(call, 2, 2);
        call.text = StringArg(call, 0, "a limit name");
        OneOf(call, 0, call.text, {"max_tokens", "request_bytes", "rpm", "tpm"});
        if (call.args[1]->kind != ExprKind::kLong || call.args[1]->long_value <= 0) {
          Fail(call.args[1]->loc, "`limit` argument 2 must be a positive integer");
        }
        call.number = call.args[1]->long_value;
      } else if (call.name == "store_payloads") {
        call.kind = ObligationKind::kStorePayloads;
        WantArgs(call, 1, 1);
        call.text = StringArg(call, 0, "none, hashes or full");
        OneOf(call, 0, call.text, {"none", "hashes", "full"});
      } else if (call.name == "require_approvals") {
        call.kind = ObligationKind::kRequireApprovals;
        WantArgs(call, 1, 1);
        if (call.args[0]->kind != ExprKind::kLong || call.args[0]->long_value < 1 ||
            call.args[0]->long_value > 10) {
          Fail(call.args[0]->loc, "`require_approvals` needs an integer 1..10");
        }
        call.number = call.args[0]->long_value;
      } else {
        Fail(call.loc, "unknown obligation " + Quote(call.name) +
                           " (known: redact, require_review, route, limit, store_payloads, "
                           "require_approvals)");
      }
    }
  }

  std::vector<CheckError>* errors_;
  std::map<std::string, const Expr*> constants_;
  std::map<std::string, std::shared_ptr<const Regex>> regexes_;
  bool failed_ = false;
};

bool Covers(const RuleScope& forbid, const RuleScope& rule) {
  for (int d = 0; d < kNumDims; ++d) {
    if (!forbid.constrained[d]) continue;
    if (!rule.constrained[d]) return false;
    if (!std::includes(forbid.values[d].begin(), forbid.values[d].end(), rule.values[d].begin(),
                       rule.values[d].end())) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool CheckFiles(std::vector<PolicyFile>* files, std::vector<CheckError>* errors) {
  Checker checker(errors);
  for (auto& f : *files) {
    for (auto& c : f.constants) checker.CheckConstant(&c);
  }
  std::map<std::string, const Rule*> ids;
  std::vector<Rule*> all;
  int index = 0;
  for (auto& f : *files) {
    for (auto& r : f.rules) {
      r.index = index++;
      checker.CheckRule(&r);
      auto [it, inserted] = ids.emplace(r.id, &r);
      if (!inserted) {
        errors->push_back(CheckError{
            {r.loc, "rule id `" + r.id + "` is already used at " + it->second->loc.ToString()}});
      }
      all.push_back(&r);
    }
  }
  if (!errors->empty()) return false;
  // A forbid whose whole condition is its scope overrides every rule inside
  // that scope: such rules can never permit or add obligations.
  for (const Rule* f : all) {
    if (f->effect != Effect::kForbid || f->scope.residual) continue;
    for (const Rule* r : all) {
      if (r->effect == Effect::kForbid) continue;
      if (Covers(f->scope, r->scope)) {
        errors->push_back(
            CheckError{{r->loc, "rule `" + r->id + "` can never apply: forbid `" + f->id + "` at " +
                                    f->loc.ToString() + " always overrides it"}});
      }
    }
  }
  return errors->empty();
}

}  // namespace steward::policy
