// comm::Status and comm::StatusOr: how the communication layer reports errors a caller can cause.
//
// comm/ sits below every other Tessera library (it may not even use ir/), so it carries its own tiny
// status type instead of ir/Status.h: a success flag plus a message. Messages name the communicator,
// the collective and the offending argument, so a caller can print them as they are. Broken internal
// invariants are assertions; a collective that never completes ends the job (see Timeout.h), it does
// not come back as a Status.
#pragma once

#include <cassert>
#include <memory>
#include <string>
#include <utility>
#include <variant>

namespace tessera::comm {

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.message_ = std::make_shared<const std::string>(std::move(message));
    return s;
  }

  bool isOk() const { return !message_; }
  explicit operator bool() const { return isOk(); }
  // Empty for success.
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  std::shared_ptr<const std::string> message_;  // shared: Statuses are copied freely
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

}  // namespace tessera::comm

// Returns the comm::Status from the enclosing function if `expr` failed. (Named apart from ir's
// TRY so that a file may include both headers.)
#define TESSERA_COMM_TRY(expr)                   \
  do {                                           \
    ::tessera::comm::Status _comm_st = (expr);   \
    if (!_comm_st.isOk()) return _comm_st;       \
  } while (0)
