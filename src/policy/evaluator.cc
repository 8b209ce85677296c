#include "policy/evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "policy/regex.h"

namespace steward::policy {
namespace {

bool Fail(const Expr& e, std::string message, EvalError* error) {
  error->loc = e.loc;
  error->message = std::move(message);
  return false;
}

double AsDouble(const Value& v) { return v.type == Type::kLong ? static_cast<double>(v.i) : v.d; }

template <typename T>
bool SortedContains(const std::vector<T>* set, const T& x) {
  return set && std::binary_search(set->begin(), set->end(), x);
}

// Membership of `x` in the set value `set`.
bool SetHas(const Value& set, const Value& x) {
  if (set.type == Type::kStringSet) {
    if (!set.strs) return false;
    return std::binary_search(
        set.strs->begin(), set.strs->end(), x.s,
        [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
  }
  if (set.type == Type::kLongSet) return SortedContains(set.longs, x.i);
  return false;
}

template <typename T>
bool AnyCommon(const std::vector<T>& a, const std::vector<T>& b) {
  auto i = a.begin(), j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      return true;
    }
  }
  return false;
}

size_t SetSize(const Value& v) {
  if (v.type == Type::kStringSet) return v.strs ? v.strs->size() : 0;
  if (v.type == Type::kLongSet) return v.longs ? v.longs->size() : 0;
  return 0;
}

bool ContainsAny(const Value& a, const Value& b) {
  if (SetSize(a) == 0 || SetSize(b) == 0) return false;
  if (a.type == Type::kStringSet) return AnyCommon(*a.strs, *b.strs);
  return AnyCommon(*a.longs, *b.longs);
}

bool ContainsAll(const Value& a, const Value& b) {
  if (SetSize(b) == 0) return true;
  if (SetSize(a) == 0) return false;
  if (a.type == Type::kStringSet) {
    return std::includes(a.strs->begin(), a.strs->end(), b.strs->begin(), b.strs->end());
  }
  return std::includes(a.longs->begin(), a.longs->end(), b.longs->begin(), b.longs->end());
}

Value AttrValue(const Expr& e, const Request& r) {
  Value v;
  Attr a = static_cast<Attr>(e.slot);
  v.type = e.type;
  switch (e.type) {
    case Type::kString:
      v.s = r.String(a);
      break;
    case Type::kLong:
      v.i = r.Long(a);
      break;
    case Type::kDouble:
      v.d = r.Double(a);
      break;
    case Type::kBool:
      v.b = r.Bool(a);
      break;
    case Type::kStringSet:
      v.strs = &r.Set(a);
      break;
    default:
      break;
  }
  return v;
}

bool Arith(const Expr& e, const Value& a, const Value& b, Value* out, EvalError* error) {
  if (a.type == Type::kLong && b.type == Type::kLong) {
    out->type = Type::kLong;
    int64_t r = 0;
    switch (e.op) {
      case Op::kAdd:
        if (__builtin_add_overflow(a.i, b.i, &r)) return Fail(e, "integer overflow in `+`", error);
        break;
      case Op::kSub:
        if (__builtin_sub_overflow(a.i, b.i, &r)) return Fail(e, "integer overflow in `-`", error);
        break;
      case Op::kMul:
        if (__builtin_mul_overflow(a.i, b.i, &r)) return Fail(e, "integer overflow in `*`", error);
        break;
      case Op::kDiv:
      case Op::kMod:
        if (b.i == 0) return Fail(e, "division by zero", error);
        if (a.i == std::numeric_limits<int64_t>::min() && b.i == -1) {
          return Fail(e, "integer overflow in division", error);
        }
        r = e.op == Op::kDiv ? a.i / b.i : a.i % b.i;
        break;
      default:
        return Fail(e, "bad arithmetic operator", error);
    }
    out->i = r;
    return true;
  }
  double x = AsDouble(a), y = AsDouble(b), r = 0;
  switch (e.op) {
    case Op::kAdd:
      r = x + y;
      break;
    case Op::kSub:
      r = x - y;
      break;
    case Op::kMul:
      r = x * y;
      break;
    case Op::kDiv:
      if (y == 0) return Fail(e, "division by zero", error);
      r = x / y;
      break;
    case Op::kMod:
      if (y == 0) return Fail(e, "division by zero", error);
      r = std::fmod(x, y);
      break;
    default:
      return Fail(e, "bad arithmetic operator", error);
  }
  if (!std::isfinite(r)) return Fail(e, "arithmetic result is not finite", error);
  out->type = Type::kDouble;
  out->d = r;
  return true;
}

bool Compare(const Expr& e, const Value& a, const Value& b) {
  int c = 0;
  if (IsNumeric(a.type) && IsNumeric(b.type)) {
    if (a.type == Type::kLong && b.type == Type::kLong) {
      c = a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    } else {
      double x = AsDouble(a), y = AsDouble(b);
      c = x < y ? -1 : x > y ? 1 : 0;
    }
  } else if (a.type == Type::kString) {
    c = a.s.compare(b.s);
    c = c < 0 ? -1 : c > 0 ? 1 : 0;
  } else if (a.type == Type::kBool) {
    c = static_cast<int>(a.b) - static_cast<int>(b.b);
  }
  switch (e.op) {
    case Op::kEq:
      return c == 0;
    case Op::kNe:
      return c != 0;
    case Op::kLt:
      return c < 0;
    case Op::kLe:
      return c <= 0;
    case Op::kGt:
      return c > 0;
    case Op::kGe:
      return c >= 0;
    default:
      return false;
  }
}

}  // namespace

bool ParseIpv4(std::string_view text, uint32_t* addr) {
  uint32_t out = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    uint32_t octet = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      octet = octet * 10 + static_cast<uint32_t>(text[i] - '0');
      if (++digits > 3 || octet > 255) return false;
      ++i;
    }
    out = (out << 8) | octet;
    if (++parts < 4) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
  }
  if (i != text.size()) return false;
  *addr = out;
  return true;
}

bool Eval(const Expr& e, const Request& r, Value* out, EvalError* error) {
  switch (e.kind) {
    case ExprKind::kBool:
      out->type = Type::kBool;
      out->b = e.bool_value;
      return true;
    case ExprKind::kLong:
      out->type = Type::kLong;
      out->i = e.long_value;
      return true;
    case ExprKind::kDouble:
      out->type = Type::kDouble;
      out->d = e.double_value;
      return true;
    case ExprKind::kString:
      out->type = Type::kString;
      out->s = e.string_value;
      return true;
    case ExprKind::kSet:
      out->type = e.type;
      out->strs = &e.set_strings;
      out->longs = &e.set_longs;
      return true;
    case ExprKind::kAttr:
      *out = AttrValue(e, r);
      return true;
    case ExprKind::kFinding: {
      const FindingStat* f = r.Finding(e.name);
      out->type = e.type;
      if (e.type == Type::kLong) {
        out->i = f ? f->count : 0;
      } else if (e.type == Type::kDouble) {
        out->d = f ? f->max_score : 0.0;
      } else {
        out->finding = f;
      }
      return true;
    }
    case ExprKind::kNot: {
      Value v;
      if (!Eval(*e.kids[0], r, &v, error)) return false;
      out->type = Type::kBool;
      out->b = !v.b;
      return true;
    }
    case ExprKind::kNeg: {
      Value v;
      if (!Eval(*e.kids[0], r, &v, error)) return false;
      out->type = v.type;
      if (v.type == Type::kLong) {
        if (v.i == std::numeric_limits<int64_t>::min()) {
          return Fail(e, "integer overflow in negation", error);
        }
        out->i = -v.i;
      } else {
        out->d = -v.d;
      }
      return true;
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      Value a;
      if (!Eval(*e.kids[0], r, &a, error)) return false;
      out->type = Type::kBool;
      bool is_and = e.kind == ExprKind::kAnd;
      if (a.b != is_and) {  // short circuit: false && _ , true || _
        out->b = a.b;
        return true;
      }
      Value b;
      if (!Eval(*e.kids[1], r, &b, error)) return false;
      out->b = b.b;
      return true;
    }
    case ExprKind::kCompare: {
      Value a, b;
      if (!Eval(*e.kids[0], r, &a, error) || !Eval(*e.kids[1], r, &b, error)) return false;
      out->type = Type::kBool;
      out->b = Compare(e, a, b);
      return true;
    }
    case ExprKind::kArith: {
      Value a, b;
      if (!Eval(*e.kids[0], r, &a, error) || !Eval(*e.kids[1], r, &b, error)) return false;
      return Arith(e, a, b, out, error);
    }
    case ExprKind::kIn: {
      Value x, set;
      if (!Eval(*e.kids[0], r, &x, error) || !Eval(*e.kids[1], r, &set, error)) return false;
      out->type = Type::kBool;
      if (e.kids[1]->type == Type::kFindingMap) {
        out->b = r.Finding(x.s) != nullptr;
      } else {
        out->b = SetHas(set, x);
      }
      return true;
    }
    case ExprKind::kHas: {
      out->type = Type::kBool;
      if (e.kids.empty()) {  // attribute presence, resolved by the checker
        out->b = r.Has(static_cast<Attr>(e.slot));
        return true;
      }
      Value v;
      if (!Eval(*e.kids[0], r, &v, error)) return false;
      if (e.kids[0]->type == Type::kFindingMap) {
        out->b = r.Finding(e.name) != nullptr;
      } else {
        Value key;
        key.type = Type::kString;
        key.s = e.name;
        out->b = SetHas(v, key);
      }
      return true;
    }
    case ExprKind::kCall: {
      Value recv;
      if (!Eval(*e.kids[0], r, &recv, error)) return false;
      Value arg;
      if (e.kids.size() > 1 && !Eval(*e.kids[1], r, &arg, error)) return false;
      out->type = Type::kBool;
      switch (e.method) {
        case Method::kStartsWith:
          out->b = recv.s.substr(0, arg.s.size()) == arg.s;
          return true;
        case Method::kEndsWith:
          out->b =
              recv.s.size() >= arg.s.size() && recv.s.substr(recv.s.size() - arg.s.size()) == arg.s;
          return true;
        case Method::kContains:
          if (recv.type == Type::kString) {
            out->b = recv.s.find(arg.s) != std::string_view::npos;
          } else {
            out->b = SetHas(recv, arg);
          }
          return true;
        case Method::kContainsAny:
          out->b = ContainsAny(recv, arg);
          return true;
        case Method::kContainsAll:
          out->b = ContainsAll(recv, arg);
          return true;
        case Method::kMatches: {
          std::string engine_error;
          out->b = e.regex->Matches(recv.s, &engine_error);
          if (!engine_error.empty()) return Fail(e, engine_error, error);
          return true;
        }
        case Method::kSize:
          out->type = Type::kLong;
          if (recv.type == Type::kString) {
            out->i = static_cast<int64_t>(recv.s.size());
          } else if (recv.type == Type::kFindingMap) {
            out->i = static_cast<int64_t>(r.findings().size());
          } else {
            out->i = static_cast<int64_t>(SetSize(recv));
          }
          return true;
        case Method::kInCidr: {
          uint32_t addr;
          out->b = ParseIpv4(recv.s, &addr) && (addr & e.cidr_mask) == e.cidr_addr;
          return true;
        }
        case Method::kUnknown:
          break;
      }
      return Fail(e, "unknown method `" + e.name + "`", error);
    }
    case ExprKind::kVar:
      if (e.type == Type::kFindingMap) {
        out->type = Type::kFindingMap;
        return true;
      }
      break;
    default:
      break;
  }
  if (e.type == Type::kFindingMap) {  // context.findings as a value (size/in/has receiver)
    out->type = Type::kFindingMap;
    return true;
  }
  return Fail(e, "expression was not checked", error);
}

bool EvalCondition(const Expr* condition, const Request& r, bool* result, EvalError* error) {
  if (!condition) {
    *result = true;
    return true;
  }
  Value v;
  if (!Eval(*condition, r, &v, error)) return false;
  *result = v.b;
  return true;
}

}  // namespace steward::policy
