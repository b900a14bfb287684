// Tessera's own thread pool: the only threads that compute during a step (OpenBLAS runs
// single-threaded inside them), so the cores are never oversubscribed.
//
// parallelFor splits [0, n) into at most size() contiguous chunks with fixed boundaries (a
// function of n and size() alone, so results never depend on timing) and hands them out through
// one atomic claim word: the caller and any awake worker take the next unclaimed chunk until none
// is left. The caller therefore never waits for a worker to wake up; it waits only for chunks a
// worker has already started. On a busy machine, where a worker may be descheduled for a whole
// time slice, the caller simply does the work itself.
//
// Idle workers spin briefly (a step issues hundreds of short parallel regions, and a futex wake-up
// per region would cost more than many kernels), then sleep on a condition variable; the caller
// pays for a notify only when some worker is asleep.
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
  // The size a pool made with `threads` has (the rule above), for plans made before one exists.
  static int sizeFor(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(begin, end) over [0, n) split into at most size() contiguous chunks. Returns when
  // every chunk is done. Not reentrant; one caller at a time.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void workerLoop();
  // Claims and runs chunks of the job published as `generation` until none is left; returns
  // whether it ran any. False at once when the job is no longer `generation`'s.
  bool work(uint32_t generation);

  // The claim word: generation (high 32 bits), chunk count (bits 16-31), next chunk (bits 0-15).
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> done_{0};  // chunks finished in the current generation
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  int sleepers_ = 0;  // guarded by mu_
  std::atomic<bool> stop_{false};
};

}  // namespace tessera::codegen
