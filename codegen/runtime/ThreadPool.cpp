// The spinning-then-sleeping pool (see ThreadPool.h).
#include "codegen/runtime/ThreadPool.h"

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tessera::codegen {

namespace {
inline void cpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int chunks = static_cast<int>(std::min<int64_t>(n, size()));
  if (chunks == 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    chunks_ = chunks;
    pending_.store(chunks - 1);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(0, n / chunks);
  // Spin (the other chunks usually end within microseconds); yield when a worker was
  // descheduled, so a loaded machine does not lose a core to waiting.
  for (int spins = 0; pending_.load(std::memory_order_acquire) > 0; ++spins) {
    cpuRelax();
    if (spins > 4096) std::this_thread::yield();
  }
}

void ThreadPool::workerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    // Spin for a short while (new work usually follows within microseconds), then sleep.
    auto start = std::chrono::steady_clock::now();
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      cpuRelax();
      if (++spins % 1024 == 0 &&
          std::chrono::steady_clock::now() - start > std::chrono::microseconds(200)) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    int chunks;
    int64_t n;
    const std::function<void(int64_t, int64_t)>* fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      chunks = chunks_;
      n = n_;
      fn = fn_;
    }
    if (index < chunks) {
      int64_t begin = n * index / chunks, end = n * (index + 1) / chunks;
      (*fn)(begin, end);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

}  // namespace tessera::codegen
