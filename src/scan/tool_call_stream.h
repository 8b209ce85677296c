// Streamed tool calls: OpenAI sends a tool call's arguments as deltas,
//   choices[c].delta.tool_calls[k] = {index, id?, type?, function: {name?, arguments: "piece"}}
// where `index` names the tool call within choice c. ToolCallStreams keeps one
// stream processor (a StreamScanner for leak scanning, a StreamRestorer for
// pseudonym restoring) per (choice, tool call index), so an entity or a
// placeholder split across deltas is seen whole, rewrites each delta's
// `arguments` with what the processor releases, and appends what is still
// held to the choice's finishing event (the one with a finish_reason) or to
// the pipeline's final event. Header-only: both scan stages use it.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace steward::scan {

// Processor: std::string Push(std::string_view); std::string Flush();
template <typename Processor>
class ToolCallStreams {
 public:
  // More concurrent tool-call streams than this in one reply is not a model
  // talking: Process() returns false and the caller refuses the stream.
  static constexpr size_t kMaxStreams = 256;

  struct Entry {
    int64_t choice = 0;
    int64_t index = 0;
    std::unique_ptr<Processor> processor;
    bool flushed = false;
    size_t recorded = 0;  // for the caller's bookkeeping (findings counted)
  };

  explicit ToolCallStreams(std::function<std::unique_ptr<Processor>()> make)
      : make_(std::move(make)) {}

  // Rewrites the tool-call argument deltas of one SSE event in place.
  // `final`: the pipeline's closing call, whose event is a copy of the first
  // event: its tool calls were relayed already, so they are replaced by the
  // flushed remainders only. Returns false when kMaxStreams is exceeded.
  bool Process(boost::json::object& event, bool final) {
    namespace json = boost::json;
    json::value* choices = event.if_contains("choices");
    if (!choices || !choices->is_array()) return FlushAllInto(event, final);
    for (json::value& cv : choices->as_array()) {
      json::object* c = cv.if_object();
      if (!c) continue;
      int64_t ci = IntOr(c->if_contains("index"), 0);
      json::value* reason = c->if_contains("finish_reason");
      bool finishing = final || (reason && !reason->is_null());
      json::value* dv = c->if_contains("delta");
      json::object* delta = dv ? dv->if_object() : nullptr;
      if (final && delta) delta->erase("tool_calls");
      if (delta && !final) {
        if (json::value* tv = delta->if_contains("tool_calls"); tv && tv->is_array()) {
          int64_t position = 0;
          for (json::value& item : tv->as_array()) {
            int64_t ti = IntOr(item.is_object() ? item.as_object().if_contains("index") : nullptr,
                               position);
            ++position;
            json::object* tc = item.if_object();
            json::value* fv = tc ? tc->if_contains("function") : nullptr;
            json::object* fn = fv ? fv->if_object() : nullptr;
            json::value* args = fn ? fn->if_contains("arguments") : nullptr;
            if (!args || !args->is_string()) continue;
            Entry* e = Find(ci, ti);
            if (!e) return false;
            if (e->flushed) continue;  // deltas after the finish: relayed as they are
            *args = e->processor->Push(args->as_string());
          }
        }
      }
      if (finishing) {
        json::array rest = FlushChoice(ci);
        if (!rest.empty()) {
          if (!delta) delta = &(*c)["delta"].emplace_object();
          json::value& list = (*delta)["tool_calls"];
          if (!list.is_array()) list.emplace_array();
          for (auto& r : rest) list.as_array().push_back(std::move(r));
        }
      }
    }
    // Remainders of choices this event does not carry get choices of their own.
    return FlushAllInto(event, final);
  }

  std::vector<Entry>& entries() { return entries_; }

 private:
  static int64_t IntOr(const boost::json::value* v, int64_t fallback) {
    if (v && v->is_int64()) return v->as_int64();
    if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
    return fallback;
  }

  Entry* Find(int64_t choice, int64_t index) {
    for (Entry& e : entries_)
      if (e.choice == choice && e.index == index) return &e;
    if (entries_.size() >= kMaxStreams) return nullptr;
    entries_.push_back(Entry{choice, index, make_(), false, 0});
    return &entries_.back();
  }

  boost::json::array FlushChoice(int64_t choice) {
    boost::json::array rest;
    for (Entry& e : entries_) {
      if (e.choice != choice || e.flushed) continue;
      e.flushed = true;
      std::string tail = e.processor->Flush();
      if (tail.empty()) continue;
      rest.push_back(boost::json::object{
          {"index", e.index}, {"function", boost::json::object{{"arguments", std::move(tail)}}}});
    }
    return rest;
  }

  // Remainders that have no choice to go with: attached as a first choice.
  bool FlushAllInto(boost::json::object& event, bool final) {
    if (!final) return true;
    for (Entry& e : entries_) {
      if (e.flushed) continue;
      boost::json::array rest = FlushChoice(e.choice);
      if (rest.empty()) continue;
      boost::json::value& choices = event["choices"];
      if (!choices.is_array()) choices.emplace_array();
      choices.as_array().push_back(boost::json::object{
          {"index", e.choice},
          {"delta", boost::json::object{{"tool_calls", std::move(rest)}}},
          {"finish_reason", nullptr}});
    }
    return true;
  }

  std::function<std::unique_ptr<Processor>()> make_;
  std::vector<Entry> entries_;
};

}  // namespace steward::scan
