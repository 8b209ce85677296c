#include "scan/request_scan.h"

#include <algorithm>
#include <set>

#include "common/strings.h"

namespace steward::scan {
namespace {

// The visitors below call `fn(value, role)` for every JSON string value
// that is text; `value` is a string. Callers read it as a view and assign
// only when they rewrite (no copy of unchanged text).
template <class Fn>
void VisitContent(boost::json::value& content, std::string_view role, Fn& fn) {
  if (content.is_string()) {
    fn(content, role);
  } else if (content.is_array()) {
    for (auto& part : content.as_array()) {
      if (part.is_string()) {
        fn(part, role);
      } else if (part.is_object()) {
        auto& o = part.as_object();
        if (auto* t = o.if_contains("text"); t && t->is_string()) fn(*t, role);
        // Tool results may nest content (Anthropic-style); cover it too.
        if (auto* c = o.if_contains("content")) VisitContent(*c, role, fn);
      }
    }
  }
}

template <class Fn>
void VisitToolCalls(boost::json::object& msg, std::string_view role, Fn& fn) {
  if (auto* calls = msg.if_contains("tool_calls"); calls && calls->is_array()) {
    for (auto& call : calls->as_array()) {
      if (!call.is_object()) continue;
      if (auto* f = call.as_object().if_contains("function"); f && f->is_object()) {
        if (auto* a = f->as_object().if_contains("arguments"); a && a->is_string()) fn(*a, role);
      }
    }
  }
  if (auto* fc = msg.if_contains("function_call"); fc && fc->is_object()) {
    if (auto* a = fc->as_object().if_contains("arguments"); a && a->is_string()) fn(*a, role);
  }
}

template <class Fn>
void VisitStringOrArray(boost::json::value* v, std::string_view role, Fn& fn) {
  if (!v) return;
  if (v->is_string()) {
    fn(*v, role);
  } else if (v->is_array()) {
    for (auto& e : v->as_array())
      if (e.is_string()) fn(e, role);
  }
}

template <class Fn>
void VisitRequestStrings(boost::json::object& body, Fn&& fn) {
  if (auto* msgs = body.if_contains("messages"); msgs && msgs->is_array()) {
    for (auto& m : msgs->as_array()) {
      if (!m.is_object()) continue;
      auto& msg = m.as_object();
      std::string_view role;
      if (auto* r = msg.if_contains("role"); r && r->is_string()) role = r->as_string();
      if (auto* c = msg.if_contains("content")) VisitContent(*c, role, fn);
      VisitToolCalls(msg, role, fn);
    }
  }
  // Whatever the path says, scan the text fields a body carries: a client
  // must not dodge scanning by sending `prompt` to the chat endpoint.
  VisitStringOrArray(body.if_contains("prompt"), "user", fn);
  VisitStringOrArray(body.if_contains("input"), "user", fn);
}

// Runs `fn` on a copy of the string value and stores the result when it
// changed.
template <class Fn>
void EditString(boost::json::value& v, Fn&& fn) {
  std::string s(v.as_string());
  fn(s);
  // Compared with the JSON string itself: no second copy of the text.
  if (std::string_view(s) != std::string_view(v.as_string())) v = boost::json::string(s);
}

// A small map keyed by a finding type's static name, which a finding's type
// points at: pointer and length identify it, so a lookup is a few compares
// instead of a string-keyed search. Up to 64 types; past that Find misses
// and the caller does the full lookup.
template <typename T>
class TypeMemo {
 public:
  const T* Find(std::string_view type) const {
    for (size_t k = 0; k < size_; ++k) {
      if (entries_[k].type == type.data() && entries_[k].size == type.size()) {
        return &entries_[k].value;
      }
    }
    return nullptr;
  }
  void Add(std::string_view type, T value) {
    if (size_ < std::size(entries_)) entries_[size_++] = {type.data(), type.size(), value};
  }

 private:
  struct Entry {
    const char* type;
    size_t size;
    T value;
  };
  Entry entries_[64];
  size_t size_ = 0;
};

}  // namespace

void ForEachRequestText(boost::json::object& body, Endpoint endpoint,
                        const std::function<void(std::string&, std::string_view)>& fn) {
  // The role lives in the body, which `fn` may rewrite: copied first.
  VisitRequestStrings(body, [&](boost::json::value& v, std::string_view role) {
    std::string r(role);
    EditString(v, [&](std::string& s) { fn(s, r); });
  });
  (void)endpoint;
}

void ForEachResponseText(boost::json::value& body, const std::function<void(std::string&)>& fn) {
  if (!body.is_object()) return;
  auto* choices = body.as_object().if_contains("choices");
  if (!choices || !choices->is_array()) return;
  auto two = [&](boost::json::value& v, std::string_view) { EditString(v, fn); };
  for (auto& ch : choices->as_array()) {
    if (!ch.is_object()) continue;
    auto& c = ch.as_object();
    if (auto* t = c.if_contains("text"); t && t->is_string()) EditString(*t, fn);
    for (const char* key : {"message", "delta"}) {
      if (auto* m = c.if_contains(key); m && m->is_object()) {
        auto& msg = m->as_object();
        if (auto* content = msg.if_contains("content")) VisitContent(*content, "assistant", two);
        VisitToolCalls(msg, "assistant", two);
      }
    }
  }
}

void RecordFindings(RequestContext& ctx, const std::vector<Finding>& findings,
                    std::string_view direction, const ActionFor& action_for) {
  // Which summary each type went to: the summaries are searched once per
  // type, not once per finding.
  TypeMemo<size_t> summary_of;
  // The strongest action taken on each summary's findings in this call (a
  // type's findings can differ: place names kept, addresses rewritten).
  std::vector<Action> strongest;
  ctx.findings.reserve(ctx.findings.size() + std::min<size_t>(findings.size(), 16));
  for (const Finding& f : findings) {
    const Action a = action_for(f);
    size_t index = SIZE_MAX;
    if (const size_t* known = summary_of.Find(f.type)) {
      index = *known;
    } else {
      for (size_t e = 0; e < ctx.findings.size(); ++e)
        if (ctx.findings[e].type == f.type && ctx.findings[e].direction == direction) index = e;
      if (index == SIZE_MAX) {
        ctx.findings.push_back(
            {std::string(f.type), std::string(direction), 0, 0.0, std::string(ActionName(a))});
        index = ctx.findings.size() - 1;
      }
      summary_of.Add(f.type, index);
      if (strongest.size() <= index) strongest.resize(index + 1, Action::kAllow);
      strongest[index] = a;
    }
    FindingSummary& s = ctx.findings[index];
    if (a > strongest[index]) {  // the enum runs from allow to block
      strongest[index] = a;
      s.action = ActionName(a);
    }
    ++s.count;
    s.max_score = std::max(s.max_score, f.score);
  }
}

InputScanResult ScanRequest(RequestContext& ctx, const Scanner& scanner,
                            const ScanOptions& options, const ResolvedActions& actions,
                            RequestScanState& state) {
  InputScanResult result;
  std::vector<std::string_view> blocked;  // types (static names), sorted at the end
  std::vector<Finding> all;
  // Each type's action looked up once per request (the action table is
  // keyed by strings).
  TypeMemo<Action> action_of;
  auto action_for = [&](const Finding& f) {
    const Action* known = action_of.Find(f.type);
    const Action for_type = known ? *known : actions.For(f.type);
    if (!known) action_of.Add(f.type, for_type);
    return actions.For(f, for_type);
  };
  // First pass: collect the prompt text so placeholders avoid it (read
  // from the JSON strings in place).
  VisitRequestStrings(ctx.body, [&](boost::json::value& v, std::string_view) {
    state.prompt_text.append(v.as_string().data(), v.as_string().size());
    state.prompt_text.push_back('\n');
  });
  VisitRequestStrings(ctx.body, [&](boost::json::value& v, std::string_view) {
    std::string_view text = v.as_string();
    std::vector<Finding> found = scanner.Scan(text, options);
    if (found.empty()) return;
    // The values found are not copied into known_values: each is a piece
    // of prompt_text, which a reply finding is looked up in anyway.
    for (const Finding& f : found)
      if (action_for(f) == Action::kBlock) blocked.push_back(f.type);
    all.insert(all.end(), found.begin(), found.end());
    TransformContext tctx{&state.vault, state.hash_key, state.prompt_text};
    std::string rewritten = ApplyActions(text, found, action_for, tctx);
    if (rewritten != text) {
      v.as_string().assign(rewritten);  // into the string's own buffer
      result.modified = true;
    }
  });
  // (Placeholders are not copied into known_values either: a reply
  // finding is looked up in the vault.)
  RecordFindings(ctx, all, "input", action_for);
  result.findings = all.size();
  std::sort(blocked.begin(), blocked.end());
  blocked.erase(std::unique(blocked.begin(), blocked.end()), blocked.end());
  result.blocked_types.assign(blocked.begin(), blocked.end());
  if (result.modified && blocked.empty()) ctx.body_modified = true;
  state.input_scanned = true;
  return result;
}

Status ApplyRedaction(RequestContext& ctx, const std::vector<std::string>& types,
                      std::string_view mode) {
  auto action = ParseAction(mode);
  if (!action.ok()) return action.status();
  if (!Rewrites(*action))
    return InvalidArgument("redaction mode must be mask, redact, hash or pseudonymize, not `" +
                           std::string(mode) + "`");
  std::set<std::string, std::less<>> wanted;
  for (const std::string& t : types) {
    if (CanonicalType(t).empty()) return InvalidArgument("unknown entity type `" + t + "`");
    wanted.insert(t);
  }
  RequestScanState& state = ctx.Slot<RequestScanState>();
  if (*action == Action::kHash && state.hash_key.empty()) {
    // Without the stage's configured key, use a per-process key: tokens are
    // stable within this process, and still not reversible.
    static const std::string kProcessKey = RandomHex(32);
    state.hash_key = kProcessKey;
  }
  const Scanner& scanner = Scanner::Default();
  Action a = *action;
  auto action_for = [&](const Finding& f) {
    return wanted.empty() || wanted.count(f.type) ? a : Action::kAllow;
  };
  std::vector<Finding> recorded;
  if (state.prompt_text.empty()) {
    ForEachRequestText(ctx.body, ctx.endpoint, [&](std::string& text, std::string_view) {
      state.prompt_text.append(text);
      state.prompt_text.push_back('\n');
    });
  }
  bool modified = false;
  ForEachRequestText(ctx.body, ctx.endpoint, [&](std::string& text, std::string_view) {
    std::vector<Finding> found = scanner.Scan(text);
    std::vector<Finding> mine;
    for (const Finding& f : found) {
      // Placeholders scan_input already put in are not the user's data.
      if (state.vault.IsPlaceholder(std::string_view(text).substr(f.start, f.end - f.start)))
        continue;
      if (wanted.empty() || wanted.count(f.type)) mine.push_back(f);
    }
    if (mine.empty()) return;
    for (const Finding& f : mine) state.known_values.insert(text.substr(f.start, f.end - f.start));
    TransformContext tctx{&state.vault, state.hash_key, state.prompt_text};
    text = ApplyActions(text, mine, action_for, tctx);
    modified = true;
    recorded.insert(recorded.end(), mine.begin(), mine.end());
  });
  // Summaries of an obligation are tagged with the action it imposed.
  for (const Finding& f : recorded) {
    FindingSummary* s = nullptr;
    for (auto& e : ctx.findings)
      if (e.type == f.type && e.direction == "input") s = &e;
    if (!s) {
      ctx.findings.push_back({std::string(f.type), "input", 0, 0.0, std::string(ActionName(a))});
      s = &ctx.findings.back();
      s->count = 1;
      s->max_score = f.score;
    } else {
      s->action = std::string(ActionName(a));
    }
  }
  if (modified) ctx.body_modified = true;
  return Status::Ok();
}

}  // namespace steward::scan
