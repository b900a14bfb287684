// Status, StatusOr and Location: how Tessera reports errors a user can cause.
//
// Library code never throws across a boundary; a function that can fail on user input returns a
// Status (or StatusOr<T>) whose message is already formatted as `file:line:col: error: ...`, so
// the CLI can print it verbatim. Broken internal invariants are assertions, not Statuses.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace tessera {

// A place in a source file (text IR, ONNX file, flag). An empty file means "unknown".
struct Location {
  std::string file;
  int line = 0;
  int col = 0;

  bool known() const { return !file.empty(); }
  std::string str() const;  // "file:line:col", "file" or "<unknown>"
  bool operator==(const Location&) const = default;
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status ok() { return Status(); }
  // An error at `loc`; the message is prefixed with "loc: error: ".
  static Status error(const Location& loc, const std::string& message);
  // An error with no location (a flag, a field path, ...): the caller names the place in `message`.
  static Status error(const std::string& message);

  bool isOk() const { return !message_; }
  explicit operator bool() const { return isOk(); }
  const std::string& message() const;

 private:
  std::shared_ptr<const std::string> message_;
};

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}
  StatusOr(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).isOk()); }

  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }
  Status status() const { return isOk() ? Status() : std::get<Status>(v_); }
  T& value() & { assert(isOk()); return std::get<T>(v_); }
  const T& value() const& { assert(isOk()); return std::get<T>(v_); }
  T&& value() && { assert(isOk()); return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tessera

#define TESSERA_CONCAT_INNER(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` failed.
#define TRY(expr)                                  \
  do {                                             \
    ::tessera::Status _st = (expr);                \
    if (!_st.isOk()) return _st;                   \
  } while (0)

// `TRY_ASSIGN(auto x, f());` — binds the value of a StatusOr or returns its error.
#define TRY_ASSIGN(lhs, expr) TRY_ASSIGN_IMPL(TESSERA_CONCAT(_so_, __LINE__), lhs, expr)
#define TRY_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                    \
  if (!tmp.isOk()) return tmp.status(); \
  lhs = std::move(tmp).value()
