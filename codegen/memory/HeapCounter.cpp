// The counting global operator new/delete (HeapCounter.h).
//
// The replacement functions live in the same object file as the counters' accessors, so that
// a program that reads the counters is a program whose allocations are counted (a static
// library contributes an object only when something references it).
#include "codegen/memory/HeapCounter.h"

#include <atomic>
#include <cstdlib>
#include <new>

#if defined(__GLIBC__)
#include <malloc.h>
#define TESSERA_HEAP_COUNTING 1
#else
#define TESSERA_HEAP_COUNTING 0
#endif

namespace tessera::codegen::heap {

namespace {

// Constant-initialized: valid before any static constructor allocates.
std::atomic<int64_t> gLive{0};
std::atomic<int64_t> gPeak{0};

[[maybe_unused]] void counted(void* p) {
#if TESSERA_HEAP_COUNTING
  const int64_t n = static_cast<int64_t>(malloc_usable_size(p));
  const int64_t now = gLive.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = gPeak.load(std::memory_order_relaxed);
  while (now > peak && !gPeak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
#endif
}

[[maybe_unused]] void uncounted(void* p) {
#if TESSERA_HEAP_COUNTING
  gLive.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
#endif
}

// malloc, retrying through the new-handler as the standard operator new does; null when there
// is no handler and nothing is left.
void* allocate(std::size_t n) {
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) {
      counted(p);
      return p;
    }
    std::new_handler h = std::get_new_handler();
    if (!h) return nullptr;
    h();
  }
}

void release(void* p) noexcept {
  if (!p) return;
  uncounted(p);
  std::free(p);
}

}  // namespace

bool available() { return TESSERA_HEAP_COUNTING != 0; }
int64_t liveBytes() { return gLive.load(std::memory_order_relaxed); }
int64_t peakBytes() { return gPeak.load(std::memory_order_relaxed); }

int64_t resetPeak() {
  const int64_t now = gLive.load(std::memory_order_relaxed);
  gPeak.store(now, std::memory_order_relaxed);
  return now;
}

}  // namespace tessera::codegen::heap

// ---- the replaced global allocation functions ----
// Throwing forms: std::bad_alloc as the standard requires (allocation failure is the one place a
// C++ program has no other way to report it).
void* operator new(std::size_t n) {
  if (void* p = tessera::codegen::heap::allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = tessera::codegen::heap::allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return tessera::codegen::heap::allocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return tessera::codegen::heap::allocate(n); }
void operator delete(void* p) noexcept { tessera::codegen::heap::release(p); }
void operator delete[](void* p) noexcept { tessera::codegen::heap::release(p); }
void operator delete(void* p, std::size_t) noexcept { tessera::codegen::heap::release(p); }
void operator delete[](void* p, std::size_t) noexcept { tessera::codegen::heap::release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { tessera::codegen::heap::release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { tessera::codegen::heap::release(p); }
