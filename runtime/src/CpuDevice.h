//===- CpuDevice.h - Shared-object loading and the thread pool --*- C++ -*-===//
//
// Internal to the runtime. The CPU device loads the artifact's shared object
// from memory, checks the host CPU against the ISA the artifact needs, and
// runs kernels on a pool of persistent std::thread workers.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_CPUDEVICE_H
#define ATTUNE_RUNTIME_CPUDEVICE_H

#include "attune/runtime/Status.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace attune::cpu_device {

/// Ok when this CPU (and OS) supports `arch` ("x86-64", "x86-64-v2",
/// "x86-64-v3", "x86-64-v4"); otherwise names the missing features.
Status checkCpuArch(const std::string &arch);

/// A shared object loaded from bytes: written to a memfd and dlopened via
/// /proc/self/fd/N (fallback: a mkstemp file unlinked after dlopen). The
/// memfd stays open while the object is loaded, so that no later load can
/// reuse its path while it is loaded.
class SharedObject {
public:
  static StatusOr<std::unique_ptr<SharedObject>> load(const uint8_t *data,
                                                      size_t size);
  ~SharedObject();
  SharedObject(const SharedObject &) = delete;
  SharedObject &operator=(const SharedObject &) = delete;

  /// The symbol's address or null.
  void *symbol(const std::string &name) const;

private:
  SharedObject() = default;
  void *handle_ = nullptr;
  int fd_ = -1;
};

/// Persistent workers. run(task) calls task(i) for every i in
/// [0, numThreads()) concurrently (i = 0 on the calling thread) and returns
/// when all have returned. One pool per session: sessions never contend
/// for workers, and a session's kernels see stable thread indices.
class ThreadPool {
public:
  /// Throws std::system_error when a thread cannot be started.
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int numThreads() const { return static_cast<int>(workers_.size()) + 1; }
  void run(const std::function<void(int)> &task);

private:
  void workerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)> *task_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

/// 64-byte aligned, zero-initialized memory; never null (a zero-byte
/// allocation still gets a distinct 64-byte block).
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer &&o) noexcept;
  AlignedBuffer &operator=(AlignedBuffer &&o) noexcept;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;

  /// False when the memory cannot be had.
  bool allocate(uint64_t bytes);
  uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }

private:
  uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
};

/// A read-only copy of bytes (the module's constants): a kernel that writes
/// into constants faults instead of corrupting other sessions.
class ReadOnlyMemory {
public:
  ReadOnlyMemory() = default;
  ~ReadOnlyMemory();
  ReadOnlyMemory(const ReadOnlyMemory &) = delete;
  ReadOnlyMemory &operator=(const ReadOnlyMemory &) = delete;

  Status assign(const uint8_t *data, size_t size);
  uint8_t *data() const { return data_; }
  size_t size() const { return size_; }

private:
  uint8_t *data_ = nullptr;
  size_t size_ = 0, mapped_ = 0;
};

} // namespace attune::cpu_device

#endif // ATTUNE_RUNTIME_CPUDEVICE_H
