// Tessera's own thread pool: the only threads that compute during a step (OpenBLAS runs
// single-threaded inside them), so the cores are never oversubscribed.
//
// parallelFor hands out contiguous ranges: a fused kernel's rows or a batch of GEMMs. Workers
// spin briefly before sleeping, because a step issues hundreds of short parallel regions and a
// condition-variable wake-up per region would cost more than many kernels.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::codegen {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // total threads including the caller; <= 0: hardware
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(begin, end) over [0, n) split into at most size() contiguous chunks; the caller
  // takes the first. Returns when every chunk is done. Not reentrant.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void workerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 0;
};

}  // namespace tessera::codegen
