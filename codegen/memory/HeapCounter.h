// What a process allocates outside the engine's planned memory: a counting global operator new.
//
// The engine's own memory is planned ahead and measured exactly (codegen/Engine.h:
// memoryReport vs measuredPeakBytes: the argument storage and the arena, both malloc'ed with
// aligned_alloc, not through operator new). Everything else a step allocates goes through C++
// new: collective staging vectors (CollectiveCall's padded send/receive words, bucket and
// pair-reduce buffers), library-kernel temporaries (ops run by the interpreter's op code), the
// micro-batch slices and shards the rank trainer cuts each step, result tensors, the loss gather.
// This file replaces the global operator new/delete (plain, array, nothrow and sized forms; the
// aligned forms keep libstdc++'s, which call aligned_alloc/free directly) with malloc/free plus
// two process-wide counters: the bytes live now and their high-water mark since the last reset.
// Sizes are malloc_usable_size, counted the same way at new and delete, so live bytes return
// exactly to where they were when everything allocated is freed.
//
// It counts what goes through operator new only: not OpenBLAS's packing buffers (its own
// buffers, allocated once when the library starts, by mmap), not MPI's internal buffers (malloc),
// not LLVM's JIT memory mappings. The replacement is linked into a program only when the
// program calls one of the functions below (a static library's object is pulled in by reference);
// it is a no-op wrapper of malloc elsewhere. Without glibc (no malloc_usable_size) nothing is
// counted and available() is false.
#pragma once

#include <cstdint>

namespace tessera::codegen::heap {

// Whether the counting allocator is in this build (glibc).
bool available();
// Bytes allocated through operator new and not yet deleted, in the whole process (all threads).
int64_t liveBytes();
// The highest liveBytes() since the last resetPeak() (or since the process started).
int64_t peakBytes();
// Sets the high-water mark to the current live bytes and returns them: a caller measures what
// a region of code adds at its peak as peakBytes() - resetPeak() taken before it.
int64_t resetPeak();

}  // namespace tessera::codegen::heap
