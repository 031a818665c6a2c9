//===- Status.h - Error values of the Attune runtime -------------*- C++
//-*-===//
//
// The runtime links no LLVM and throws no exceptions across its API: every
// fallible call returns a Status (or a StatusOr<T>) whose message names what
// was wrong and what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_STATUS_H
#define ATTUNE_RUNTIME_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace attune {

/// Error categories; they become the C API's status codes in a later issue.
enum class StatusCode {
  Ok = 0,
  InvalidArgument, ///< the caller passed something malformed
  NotFound,        ///< a named thing (file, tensor, function) does not exist
  OutOfRange,      ///< an index or offset outside its bounds
  DataLoss,        ///< a file is truncated or corrupt
  Unimplemented,   ///< a valid request this build does not support
  Internal,        ///< a broken invariant inside Attune
  IoError,         ///< the operating system refused a read or write
};

/// A success or an error with a message.
class [[nodiscard]] Status {
public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool isOk() const { return code_ == StatusCode::Ok; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

inline Status invalidArgument(std::string m) {
  return Status(StatusCode::InvalidArgument, std::move(m));
}
inline Status notFound(std::string m) {
  return Status(StatusCode::NotFound, std::move(m));
}
inline Status outOfRange(std::string m) {
  return Status(StatusCode::OutOfRange, std::move(m));
}
inline Status dataLoss(std::string m) {
  return Status(StatusCode::DataLoss, std::move(m));
}
inline Status unimplemented(std::string m) {
  return Status(StatusCode::Unimplemented, std::move(m));
}
inline Status internalError(std::string m) {
  return Status(StatusCode::Internal, std::move(m));
}
inline Status ioError(std::string m) {
  return Status(StatusCode::IoError, std::move(m));
}

/// A value or the Status that explains why there is none.
template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : value_(std::move(value)) {}
  StatusOr(Status status) : status_(std::move(status)) {
    assert(!status_.isOk() && "StatusOr built from an ok Status");
  }

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status &status() const { return status_; }
  T &value() {
    assert(isOk());
    return *value_;
  }
  const T &value() const {
    assert(isOk());
    return *value_;
  }
  T &operator*() { return value(); }
  const T &operator*() const { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }

private:
  std::optional<T> value_;
  Status status_;
};

} // namespace attune

/// Returns early from the enclosing function when `expr` is an error Status.
#define ATTUNE_RETURN_IF_ERROR(expr)                                           \
  do {                                                                         \
    ::attune::Status attuneStatus_ = (expr);                                   \
    if (!attuneStatus_.isOk())                                                 \
      return attuneStatus_;                                                    \
  } while (false)

#endif // ATTUNE_RUNTIME_STATUS_H
