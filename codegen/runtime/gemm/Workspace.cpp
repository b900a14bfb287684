// Packing buffers with counted capacity (Workspace.h).
#include "codegen/runtime/gemm/Workspace.h"

#include <cassert>
#include <cstdlib>

#include "codegen/runtime/gemm/Sgemm.h"

namespace tessera::codegen::gemm {

PackingBuffer::~PackingBuffer() {
  std::free(data_);
  if (held_) *held_ -= capacity_;
  detail::countHeld(-capacity_);
}

float* PackingBuffer::get(int64_t floats, std::atomic<int64_t>* held) {
  int64_t bytes = packingBufferBytes(floats);
  if (bytes > capacity_) {
    std::free(data_);
    data_ = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(bytes)));
    assert(data_ && "sgemm packing buffer allocation failed");
    assert((!held_ || held_ == held) && "a packing buffer belongs to one workspace");
    held_ = held;
    if (held_) *held_ += bytes - capacity_;
    detail::countHeld(bytes - capacity_);
    capacity_ = bytes;
  }
  return data_;
}

PackingWorkspace::PackingWorkspace(int slots) : a_(static_cast<size_t>(slots)), b_(static_cast<size_t>(slots)) {
  assert(slots >= 1);
}

float* PackingWorkspace::packedA(int slot, int64_t floats) {
  assert(slot >= 0 && slot < slots());
  return a_[static_cast<size_t>(slot)].get(floats, &held_);
}

float* PackingWorkspace::packedB(int slot, int64_t floats) {
  assert(slot >= 0 && slot < slots());
  return b_[static_cast<size_t>(slot)].get(floats, &held_);
}

}  // namespace tessera::codegen::gemm
