// The chunk-claiming pool (see ThreadPool.h).
#include "codegen/runtime/ThreadPool.h"

#include <algorithm>
#include <cassert>
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

// How long an idle worker spins before sleeping. Long enough to cover the serial gaps between a
// step's parallel regions (a library op, a small GEMM), short enough that an idle engine costs
// nothing.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(100);

inline uint32_t generationOf(uint64_t c) { return static_cast<uint32_t>(c >> 32); }
inline int chunksOf(uint64_t c) { return static_cast<int>((c >> 16) & 0xFFFF); }
inline int nextOf(uint64_t c) { return static_cast<int>(c & 0xFFFF); }

}  // namespace

int ThreadPool::sizeFor(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(threads, 1, 0xFFFF);
}

ThreadPool::ThreadPool(int threads) {
  threads = sizeFor(threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

bool ThreadPool::work(uint32_t generation) {
  bool ran = false;
  uint64_t c = claim_.load(std::memory_order_acquire);
  while (generationOf(c) == generation && nextOf(c) < chunksOf(c)) {
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;  // c now holds the current word
    // The chunk is ours, and the caller cannot publish a new job before we report it done, so
    // fn_ and n_ are stable here.
    int chunk = nextOf(c), chunks = chunksOf(c);
    int64_t begin = n_ * chunk / chunks, end = n_ * (chunk + 1) / chunks;
    (*fn_)(begin, end);
    done_.fetch_add(1, std::memory_order_acq_rel);
    ran = true;
    c = claim_.load(std::memory_order_acquire);
  }
  return ran;
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int chunks = static_cast<int>(std::min<int64_t>(n, size()));
  if (chunks == 1) {
    fn(0, n);
    return;
  }
  fn_ = &fn;
  n_ = n;
  done_.store(0, std::memory_order_relaxed);
  uint32_t generation = generationOf(claim_.load(std::memory_order_relaxed)) + 1;
  claim_.store((static_cast<uint64_t>(generation) << 32) | (static_cast<uint64_t>(chunks) << 16),
               std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sleepers_ > 0) wake_.notify_all();
  }
  work(generation);
  // Only chunks a worker already started remain: spin, yielding if that worker was descheduled.
  for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
    cpuRelax();
    if (spins > 1024) std::this_thread::yield();
  }
}

void ThreadPool::workerLoop() {
  uint32_t seen = generationOf(claim_.load(std::memory_order_acquire));
  while (true) {
    auto start = std::chrono::steady_clock::now();
    for (int spins = 1;; ++spins) {
      uint32_t g = generationOf(claim_.load(std::memory_order_acquire));
      if (g != seen) {
        seen = g;
        work(g);
        start = std::chrono::steady_clock::now();
        continue;
      }
      if (stop_.load(std::memory_order_relaxed)) return;
      cpuRelax();
      if (spins % 256 == 0 && std::chrono::steady_clock::now() - start > kSpinBeforeSleep) break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    ++sleepers_;
    wake_.wait(lock, [&] {
      return stop_.load() || generationOf(claim_.load(std::memory_order_acquire)) != seen;
    });
    --sleepers_;
    if (stop_) return;
  }
}

}  // namespace tessera::codegen
