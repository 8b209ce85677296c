// Status and Result<T>: errors as values at every module boundary.
//
// A Status is either OK or carries a code and a human-readable message that
// names the problem ("keys.db: migration 3 failed: ..."). Result<T> holds a T
// or a non-OK Status. Neither throws; exceptions never cross a module boundary.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace steward {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from a user or a file
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,   // limits, quotas, sizes
  kFailedPrecondition,  // the system is not in a state to do this
  kUnavailable,         // transient: retry may succeed
  kDeadlineExceeded,
  kDataLoss,            // corruption detected
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NOT_FOUND: key abc does not exist"
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a value or an error, std::expected-style (g++ 12 / clang 14 lack a
// usable <expected> in C++20 mode).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result needs a value or a non-OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace steward

// Propagates a non-OK Status from an expression returning Status.
#define STEWARD_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::steward::Status steward_status_ = (expr);  \
    if (!steward_status_.ok()) return steward_status_; \
  } while (0)

#define STEWARD_CONCAT_INNER(a, b) a##b
#define STEWARD_CONCAT(a, b) STEWARD_CONCAT_INNER(a, b)
// Assigns the value of a Result<T> expression to `lhs` or returns its Status.
#define STEWARD_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto STEWARD_CONCAT(steward_result_, __LINE__) = (expr);               \
  if (!STEWARD_CONCAT(steward_result_, __LINE__).ok())                   \
    return STEWARD_CONCAT(steward_result_, __LINE__).status();           \
  lhs = std::move(STEWARD_CONCAT(steward_result_, __LINE__)).value()
