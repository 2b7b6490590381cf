// Status and Result: errors as values on the hot path (see STYLE.md, "Errors").
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace channelhub {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the input is wrong: a partner gets 400, a config user a message
  kNotFound,          // no such source, destination, file
  kAlreadyExists,     // a duplicate (event id already journaled)
  kUnauthenticated,   // missing or bad signature / token: 401
  kPermissionDenied,
  kResourceExhausted, // a queue or limit is full: 429/503 with Retry-After
  kUnavailable,       // transient: retry later
  kIoError,           // disk or network I/O failed
  kCorruption,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

// A Status encapsulates the result of an operation: OK, or a code with a message and where the
// problem is (a file, line and key for configuration and mappings). Cheap to copy when OK.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status Invalid(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status Exhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context ("journal: " + message); returns *this for chaining.
  Status& Prepend(std::string_view context) {
    message_ = std::string(context) + message_;
    return *this;
  }

  // "InvalidArgument: message" or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace channelhub

// Returns early from the enclosing function when "expr" yields a non-OK Status.
#define CHUB_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::channelhub::Status _chub_st = (expr);      \
    if (!_chub_st.ok()) return _chub_st;         \
  } while (0)
