//===- CpuDevice.cpp - Shared-object loading and the thread pool ----------===//

#include "CpuDevice.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace attune::cpu_device {

//===----------------------------------------------------------------------===//
// CPU features
//===----------------------------------------------------------------------===//

Status checkCpuArch(const std::string &arch) {
  int level;
  if (arch == "x86-64")
    level = 1;
  else if (arch == "x86-64-v2")
    level = 2;
  else if (arch == "x86-64-v3")
    level = 3;
  else if (arch == "x86-64-v4")
    level = 4;
  else
    return unimplemented("artifact needs cpu arch '" + arch +
                         "'; this runtime knows x86-64, x86-64-v2, x86-64-v3 "
                         "and x86-64-v4");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  std::string missing, needed;
#define ATTUNE_NEED(lvl, feature)                                              \
  if (level >= lvl) {                                                          \
    needed += needed.empty() ? feature : " " feature;                          \
    if (!__builtin_cpu_supports(feature))                                      \
      missing += missing.empty() ? feature : ", " feature;                     \
  }
  ATTUNE_NEED(2, "sse3")
  ATTUNE_NEED(2, "ssse3")
  ATTUNE_NEED(2, "sse4.1")
  ATTUNE_NEED(2, "sse4.2")
  ATTUNE_NEED(2, "popcnt")
  ATTUNE_NEED(3, "avx")
  ATTUNE_NEED(3, "avx2")
  ATTUNE_NEED(3, "bmi")
  ATTUNE_NEED(3, "bmi2")
  ATTUNE_NEED(3, "f16c")
  ATTUNE_NEED(3, "fma")
  ATTUNE_NEED(4, "avx512f")
  ATTUNE_NEED(4, "avx512bw")
  ATTUNE_NEED(4, "avx512cd")
  ATTUNE_NEED(4, "avx512dq")
  ATTUNE_NEED(4, "avx512vl")
#undef ATTUNE_NEED
  if (!missing.empty())
    return unimplemented("artifact's cpu code needs " + arch + " (" + needed +
                         "); this CPU lacks " + missing);
  return Status::ok();
#else
  return unimplemented("artifact's cpu code needs " + arch +
                       "; this runtime was built for another architecture");
#endif
}

//===----------------------------------------------------------------------===//
// SharedObject
//===----------------------------------------------------------------------===//

static bool writeAll(int fd, const uint8_t *data, size_t size) {
  while (size) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

static std::string dlError() {
  const char *e = dlerror();
  return e ? e : "unknown dlopen error";
}

/// dlopen matches already-loaded objects by path: make sure no loaded
/// object has /proc/self/fd/N for our fd (a NODELETE object of a destroyed
/// module could), moving the fd to another number when one does.
static int uniqueFdPath(int fd, std::string &path) {
  for (int tries = 0; tries < 64; ++tries) {
    path = "/proc/self/fd/" + std::to_string(fd);
    void *existing = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (!existing)
      return fd;
    dlclose(existing);
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
    ::close(fd);
    if (moved < 0)
      return -1;
    fd = moved;
  }
  ::close(fd);
  return -1;
}

StatusOr<std::unique_ptr<SharedObject>> SharedObject::load(const uint8_t *data,
                                                           size_t size) {
  std::unique_ptr<SharedObject> so(new SharedObject());
  std::string memfdWhy;
#if defined(__linux__)
  int fd = static_cast<int>(memfd_create("attune-cpu-module", MFD_CLOEXEC));
  if (fd < 0) {
    memfdWhy = std::string("memfd_create: ") + std::strerror(errno);
  } else if (!writeAll(fd, data, size)) {
    memfdWhy = std::string("writing the memfd: ") + std::strerror(errno);
    ::close(fd);
  } else {
    std::string path;
    fd = uniqueFdPath(fd, path);
    if (fd < 0) {
      memfdWhy = "no free /proc/self/fd path";
    } else {
      so->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (so->handle_) {
        so->fd_ = fd;
        return so;
      }
      memfdWhy = dlError();
      ::close(fd);
    }
  }
#else
  memfdWhy = "memfd_create is not available";
#endif
  // Fallback: a temporary file, unlinked as soon as it is mapped.
  const char *tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/attune-module-XXXXXX.so";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int tfd = mkstemps(name.data(), 3);
  if (tfd < 0)
    return ioError("cannot load the artifact's cpu shared object: " + memfdWhy +
                   "; and cannot create a temporary file " + tmpl + ": " +
                   std::strerror(errno));
  bool wrote = writeAll(tfd, data, size);
  int werr = errno;
  ::close(tfd);
  if (!wrote) {
    ::unlink(name.data());
    return ioError("cannot load the artifact's cpu shared object: " + memfdWhy +
                   "; and writing " + name.data() +
                   " failed: " + std::strerror(werr));
  }
  so->handle_ = dlopen(name.data(), RTLD_NOW | RTLD_LOCAL);
  std::string why = so->handle_ ? "" : dlError();
  ::unlink(name.data());
  if (!so->handle_)
    return invalidArgument("cannot load the artifact's cpu shared object (" +
                           std::to_string(size) + " bytes): " + why +
                           (memfdWhy.empty() || memfdWhy == why
                                ? ""
                                : " (via memfd: " + memfdWhy + ")"));
  return so;
}

SharedObject::~SharedObject() {
  if (handle_)
    dlclose(handle_);
  if (fd_ >= 0)
    ::close(fd_);
}

void *SharedObject::symbol(const std::string &name) const {
  return handle_ ? dlsym(handle_, name.c_str()) : nullptr;
}

//===----------------------------------------------------------------------===//
// ThreadPool
//===----------------------------------------------------------------------===//

ThreadPool::ThreadPool(int numThreads) {
  try {
    for (int i = 1; i < numThreads; ++i)
      workers_.emplace_back([this, i] { workerLoop(i); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto &t : workers_)
      t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto &t : workers_)
    t.join();
}

void ThreadPool::workerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(int)> *task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
      task = task_;
    }
    (*task)(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0)
        done_.notify_one();
    }
  }
}

void ThreadPool::run(const std::function<void(int)> &task) {
  if (workers_.empty()) {
    task(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &task;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  task(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
  task_ = nullptr;
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer &&o) noexcept
    : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

bool AlignedBuffer::allocate(uint64_t bytes) {
  std::free(data_);
  data_ = nullptr;
  size_ = 0;
  if (bytes > UINT64_MAX - 64 || bytes + 63 > SIZE_MAX)
    return false;
  size_t rounded = static_cast<size_t>((bytes + 63) / 64 * 64);
  if (rounded == 0)
    rounded = 64;
  void *p = std::aligned_alloc(64, rounded);
  if (!p)
    return false;
  std::memset(p, 0, rounded);
  data_ = static_cast<uint8_t *>(p);
  size_ = bytes;
  return true;
}

ReadOnlyMemory::~ReadOnlyMemory() {
  if (data_)
    munmap(data_, mapped_);
}

Status ReadOnlyMemory::assign(const uint8_t *data, size_t size) {
  long page = sysconf(_SC_PAGESIZE);
  size_t pageSize = page > 0 ? static_cast<size_t>(page) : 4096;
  size_t mapped = size ? (size + pageSize - 1) / pageSize * pageSize : pageSize;
  void *p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return ioError(
        "cannot map " + std::to_string(size) +
        " bytes for the artifact's constants: " + std::strerror(errno));
  if (size)
    std::memcpy(p, data, size);
  if (mprotect(p, mapped, PROT_READ) != 0) {
    int err = errno;
    munmap(p, mapped);
    return ioError(std::string("cannot protect the artifact's constants: ") +
                   std::strerror(err));
  }
  data_ = static_cast<uint8_t *>(p);
  size_ = size;
  mapped_ = mapped;
  return Status::ok();
}

} // namespace attune::cpu_device
