//===- attune_runtime.hpp - C++ RAII wrapper of the C API -------*- C++ -*-===//
//
// Header-only and exception-free: every fallible call returns an
// attune::rt::Result holding the status code and the message of the
// failure. Module and Session own their handles and are move-only.
//
//   attune::rt::Module module;
//   if (auto r = attune::rt::Module::load("model.atm", module); !r) ...
//   attune::rt::Session session;
//   attune::rt::Session::create(module, "main", /*threads=*/0, session);
//   // or on a GPU: attune_session_options o; attune_session_options_init(&o);
//   // o.device = ATTUNE_DEVICE_CUDA; Session::create(module, "main", o, s);
//   session.bindWeights("weights.safetensors");
//   session.setInput("x", {2, 16}, xs);         // std::vector<float>
//   session.run();
//   std::vector<float> y;
//   session.copyResult("y", y);
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_ATTUNE_RUNTIME_HPP
#define ATTUNE_ATTUNE_RUNTIME_HPP

#include "attune/attune_runtime.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attune::rt {

/// Ok, or a status code with the failing call's message.
class Result {
public:
  Result() = default;
  Result(attune_status code, std::string message)
      : code_(code), message_(std::move(message)) {}
  /// Captures the thread's last error message when `code` is a failure.
  static Result from(attune_status code) {
    return code == ATTUNE_OK ? Result()
                             : Result(code, attune_last_error_message());
  }
  bool ok() const { return code_ == ATTUNE_OK; }
  explicit operator bool() const { return ok(); }
  attune_status code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  attune_status code_ = ATTUNE_OK;
  std::string message_;
};

/// An argument's or result's signature.
struct TensorInfo {
  std::string name;
  attune_dtype dtype = ATTUNE_DTYPE_F32;
  std::vector<int64_t> shape;
  size_t byteSize = 0;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// The dtype of a C++ element type.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<double> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_F64;
};
template <> struct DTypeOf<float> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_F32;
};
template <> struct DTypeOf<int64_t> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_I64;
};
template <> struct DTypeOf<int32_t> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_I32;
};
template <> struct DTypeOf<int16_t> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_I16;
};
template <> struct DTypeOf<int8_t> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_I8;
};
template <> struct DTypeOf<uint8_t> {
  static constexpr attune_dtype value = ATTUNE_DTYPE_U8;
};

namespace detail {
inline std::vector<TensorInfo> signature(const attune_function *fn,
                                         bool arguments) {
  std::vector<TensorInfo> out;
  size_t n = arguments ? attune_function_argument_count(fn)
                       : attune_function_result_count(fn);
  for (size_t i = 0; i < n; ++i) {
    attune_tensor_info info;
    attune_status s = arguments ? attune_function_argument(fn, i, &info)
                                : attune_function_result(fn, i, &info);
    if (s != ATTUNE_OK)
      break;
    out.push_back(
        TensorInfo{info.name, info.dtype,
                   std::vector<int64_t>(info.shape, info.shape + info.rank),
                   info.byte_size});
  }
  return out;
}
} // namespace detail

/// The number of CUDA devices, or why none can be used (one line).
inline Result cudaProbe(int &deviceCount) {
  return Result::from(attune_cuda_probe(&deviceCount));
}

/// A loaded artifact; immutable, shareable between threads.
class Module {
public:
  Module() = default;
  ~Module() { attune_module_destroy(m_); }
  Module(Module &&o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Module &operator=(Module &&o) noexcept {
    if (this != &o) {
      attune_module_destroy(m_);
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  static Result load(const std::string &path, Module &out) {
    attune_module *m = nullptr;
    Result r = Result::from(attune_module_create_from_file(path.c_str(), &m));
    if (r)
      out = Module(m);
    return r;
  }
  static Result loadFromMemory(const void *data, size_t size, Module &out) {
    attune_module *m = nullptr;
    Result r = Result::from(attune_module_create_from_memory(data, size, &m));
    if (r)
      out = Module(m);
    return r;
  }

  attune_module *get() const { return m_; }
  explicit operator bool() const { return m_ != nullptr; }
  std::string describe() const { return attune_module_describe(m_); }

  std::vector<std::string> functionNames() const {
    std::vector<std::string> names;
    for (size_t i = 0, n = attune_module_function_count(m_); i < n; ++i) {
      const attune_function *f = nullptr;
      if (attune_module_function(m_, i, &f) == ATTUNE_OK)
        names.push_back(attune_function_name(f));
    }
    return names;
  }
  /// The signature of a function; empty `function` = the only one.
  Result arguments(const std::string &function,
                   std::vector<TensorInfo> &out) const {
    return signature(function, true, out);
  }
  Result results(const std::string &function,
                 std::vector<TensorInfo> &out) const {
    return signature(function, false, out);
  }

private:
  explicit Module(attune_module *m) : m_(m) {}
  Result signature(const std::string &function, bool arguments,
                   std::vector<TensorInfo> &out) const {
    const attune_function *f = nullptr;
    Result r;
    if (function.empty() && attune_module_function_count(m_) == 1)
      r = Result::from(attune_module_function(m_, 0, &f));
    else
      r = Result::from(attune_module_find_function(m_, function.c_str(), &f));
    if (r)
      out = detail::signature(f, arguments);
    return r;
  }
  attune_module *m_ = nullptr;
};

/// One function's state: arena, bound arguments, results, thread pool.
/// Not thread-safe; use one session per thread.
class Session {
public:
  Session() = default;
  ~Session() { attune_session_destroy(s_); }
  Session(Session &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Session &operator=(Session &&o) noexcept {
    if (this != &o) {
      attune_session_destroy(s_);
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// `function` empty = the module's only function; `threads` 0 = all.
  static Result create(const Module &module, const std::string &function,
                       uint32_t threads, Session &out) {
    attune_session_options options;
    attune_session_options_init(&options);
    options.num_threads = threads;
    return create(module, function, options, out);
  }
  /// With every option, e.g. the device:
  ///   attune_session_options o;
  ///   attune_session_options_init(&o);
  ///   o.device = ATTUNE_DEVICE_CUDA;
  static Result create(const Module &module, const std::string &function,
                       const attune_session_options &options, Session &out) {
    attune_session *s = nullptr;
    Result r = Result::from(attune_session_create(
        module.get(), function.empty() ? nullptr : function.c_str(), &options,
        &s));
    if (r)
      out = Session(s);
    return r;
  }

  attune_session *get() const { return s_; }
  std::string functionName() const {
    return attune_function_name(attune_session_function(s_));
  }
  std::vector<TensorInfo> arguments() const {
    return detail::signature(attune_session_function(s_), true);
  }
  std::vector<TensorInfo> results() const {
    return detail::signature(attune_session_function(s_), false);
  }

  Result bindWeights(const std::string &path, size_t *bound = nullptr) {
    return Result::from(
        attune_session_bind_weights_file(s_, path.c_str(), bound));
  }
  Result setInput(const std::string &name, attune_dtype dtype,
                  const std::vector<int64_t> &shape, const void *data,
                  size_t byteSize) {
    return Result::from(attune_session_set_input(
        s_, name.c_str(), dtype, shape.data(), shape.size(), data, byteSize));
  }
  template <typename T>
  Result setInput(const std::string &name, const std::vector<int64_t> &shape,
                  const std::vector<T> &values) {
    return setInput(name, DTypeOf<T>::value, shape, values.data(),
                    values.size() * sizeof(T));
  }
  bool argumentBound(size_t index) const {
    return attune_session_argument_bound(s_, index) != 0;
  }
  Result run() { return Result::from(attune_session_run(s_)); }
  /// `iterations` runs with the bound inputs; median and minimum
  /// milliseconds per run (see attune_session_time_runs).
  Result timeRuns(uint32_t iterations, double &medianMs, double &minMs) {
    return Result::from(
        attune_session_time_runs(s_, iterations, &medianMs, &minMs));
  }

  size_t resultCount() const { return attune_session_result_count(s_); }
  Result findResult(const std::string &name, size_t &index) const {
    return Result::from(attune_session_find_result(s_, name.c_str(), &index));
  }
  /// Borrowed view of a result, valid until the next run.
  Result result(size_t index, attune_tensor_view &view) const {
    return Result::from(attune_session_result(s_, index, &view));
  }
  Result result(const std::string &name, attune_tensor_view &view) const {
    size_t index = 0;
    Result r = findResult(name, index);
    return r ? result(index, view) : r;
  }
  /// Copies a result whose dtype is T's.
  template <typename T>
  Result copyResult(const std::string &name, std::vector<T> &out) const {
    attune_tensor_view view;
    Result r = result(name, view);
    if (!r)
      return r;
    if (view.dtype != DTypeOf<T>::value)
      return Result(ATTUNE_INVALID_ARGUMENT,
                    "result '" + name + "' is " +
                        attune_dtype_name(view.dtype) +
                        "; copyResult was asked for " +
                        attune_dtype_name(DTypeOf<T>::value));
    const T *p = static_cast<const T *>(view.data);
    out.assign(p, p + view.byte_size / sizeof(T));
    return Result();
  }

private:
  explicit Session(attune_session *s) : s_(s) {}
  attune_session *s_ = nullptr;
};

} // namespace attune::rt

#endif // ATTUNE_ATTUNE_RUNTIME_HPP
