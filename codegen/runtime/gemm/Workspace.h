// The sgemm's packing buffers (Sgemm.h), owned by whoever runs the GEMMs so that their bytes can
// be planned and counted: the engine's CPU runtime holds one PackingWorkspace with one slot per
// pool thread, and the memory report plans its size from the executable's GEMM shapes
// (GemmRunner.h: plannedPackingBytes; codegen/memory/GemmWorkspace.h).
//
// A slot is a part of the work, not an OS thread: the pool hands its chunks to whichever thread
// claims them first, so buffers kept per OS thread would hold bytes that depend on timing. Part t
// of a GEMM (its t-th row or column share, or its t-th share of batch items) always packs into
// slot t, so what a workspace holds after a step is a function of the shapes and the thread count
// alone: each slot's packed-A and packed-B buffer has grown to the largest request of its slot.
//
// Buffers are kept for reuse (a fresh multi-MiB allocation per GEMM would page-fault through it
// every time) until the workspace is destroyed. Callers without a workspace (tests, benchmarks)
// use a per-OS-thread one inside Sgemm.cpp, as before.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera::codegen::gemm {

// The bytes a packing buffer of `floats` floats really takes (64-byte granules).
inline int64_t packingBufferBytes(int64_t floats) {
  return (floats * static_cast<int64_t>(sizeof(float)) + 63) / 64 * 64;
}

// A growable 64-byte-aligned buffer; its capacity is counted in `held` (and process-wide).
class PackingBuffer {
 public:
  PackingBuffer() = default;
  PackingBuffer(const PackingBuffer&) = delete;
  PackingBuffer& operator=(const PackingBuffer&) = delete;
  ~PackingBuffer();
  // At least `floats` floats (contents not kept when it grows).
  float* get(int64_t floats, std::atomic<int64_t>* held);
  int64_t capacity() const { return capacity_; }

 private:
  float* data_ = nullptr;
  int64_t capacity_ = 0;        // bytes
  std::atomic<int64_t>* held_ = nullptr;  // where capacity_ was counted
};

class PackingWorkspace {
 public:
  explicit PackingWorkspace(int slots);
  PackingWorkspace(const PackingWorkspace&) = delete;
  PackingWorkspace& operator=(const PackingWorkspace&) = delete;

  int slots() const { return static_cast<int>(a_.size()); }
  // Slot `slot`'s packed-A block / packed op(B), grown to at least `floats` floats. Distinct
  // slots may be used concurrently; one slot by one part at a time.
  float* packedA(int slot, int64_t floats);
  float* packedB(int slot, int64_t floats);
  // Bytes held by all slots' buffers now.
  int64_t heldBytes() const { return held_.load(); }

 private:
  std::atomic<int64_t> held_{0};
  std::vector<PackingBuffer> a_, b_;
};

}  // namespace tessera::codegen::gemm
