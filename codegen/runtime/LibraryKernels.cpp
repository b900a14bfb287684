// Native library kernels and the reference fallback (see LibraryKernels.h).
#include "codegen/runtime/LibraryKernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "codegen/runtime/TensorIO.h"
#include "ir/OpRules.h"

namespace tessera::codegen {

using ir::OpKind;

namespace {

int64_t product(const std::vector<int64_t>& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

int64_t normAxis(int64_t axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

// Reads index j of an integer index array; false when out of [0, n).
bool readIndex(const HostArray& idx, int64_t j, int64_t n, int64_t* out) {
  int64_t v = idx.dtype == ir::DType::I32 ? static_cast<const int32_t*>(idx.data)[j]
              : idx.dtype == ir::DType::I64
                  ? static_cast<const int64_t*>(idx.data)[j]
                  : static_cast<int64_t>(loadElement(idx.data, idx.dtype, j));
  *out = v;
  return v >= 0 && v < n;
}

bool isIndexType(ir::DType t) { return t == ir::DType::I32 || t == ir::DType::I64; }

// Below this many elements of work a kernel runs on the calling thread: waking the pool costs
// more than it saves.
constexpr int64_t kParallelWork = 32768;

// fn over [0, n) in contiguous ranges, on the pool's threads when `work` pays for it.
void forRange(ThreadPool* pool, int64_t n, int64_t work,
              const std::function<void(int64_t, int64_t)>& fn) {
  if (pool && pool->size() > 1 && n >= 2 && work >= kParallelWork) pool->parallelFor(n, fn);
  else if (n > 0) fn(0, n);
}

// false: hand over to the reference (bad index).
bool gather(const ir::Op& op, const std::vector<HostArray>& in, const HostArray& out,
            ThreadPool* pool) {
  const HostArray& table = in[0];
  const HostArray& idx = in[1];
  int64_t axis = normAxis(op.intAttr("axis"), table.shape.size());
  int64_t outer = product(table.shape, 0, axis), len = table.shape[axis];
  int64_t inner = product(table.shape, axis + 1, table.shape.size());
  int64_t nIdx = product(idx.shape, 0, idx.shape.size());
  size_t esz = ir::dtypeBytes(table.dtype);
  const char* src = static_cast<const char*>(table.data);
  char* dst = static_cast<char*>(out.data);
  std::atomic<bool> bad{false};
  forRange(pool, outer * nIdx, outer * nIdx * inner, [&](int64_t b, int64_t e) {
    for (int64_t oj = b; oj < e; ++oj) {
      int64_t o = oj / nIdx, j = oj % nIdx, row;
      if (!readIndex(idx, j, len, &row)) {
        bad = true;
        return;
      }
      std::memcpy(dst + (oj * inner) * esz, src + ((o * len + row) * inner) * esz, inner * esz);
    }
  });
  return !bad;
}

template <typename T>
bool scatterAdd(const ir::Op& op, const std::vector<HostArray>& in, const HostArray& out,
                ThreadPool* pool) {
  const HostArray& base = in[0];
  const HostArray& idx = in[1];
  int64_t axis = normAxis(op.intAttr("axis"), base.shape.size());
  int64_t outer = product(base.shape, 0, axis), len = base.shape[axis];
  int64_t inner = product(base.shape, axis + 1, base.shape.size());
  int64_t nIdx = product(idx.shape, 0, idx.shape.size());
  for (int64_t j = 0; j < nIdx; ++j) {
    int64_t row;
    if (!readIndex(idx, j, len, &row)) return false;
  }
  // Accumulate in double and round once, as the reference does. Threads own ranges of the
  // inner dim, so every element sums its updates in index order whatever the thread count.
  int64_t total = outer * len * inner;
  std::vector<double> acc(total);
  const T* b = static_cast<const T*>(base.data);
  const T* u = static_cast<const T*>(in[2].data);
  T* y = static_cast<T*>(out.data);
  forRange(pool, inner, total + outer * nIdx * inner, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < outer * len; ++r)
      for (int64_t i = c0; i < c1; ++i) acc[r * inner + i] = b[r * inner + i];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < nIdx; ++j) {
        int64_t row;
        readIndex(idx, j, len, &row);
        double* d = acc.data() + (o * len + row) * inner;
        const T* s = u + (o * nIdx + j) * inner;
        for (int64_t i = c0; i < c1; ++i) d[i] += s[i];
      }
    for (int64_t r = 0; r < outer * len; ++r)
      for (int64_t i = c0; i < c1; ++i) y[r * inner + i] = static_cast<T>(acc[r * inner + i]);
  });
  return true;
}

// acc[c] += x[r * cols + c] for r in [0, rows), c in [0, n): the column sums of a row-major
// block, accumulated in double in row order. Four doubles at a time (GCC vectors: one AVX2
// register, or two SSE2 ones in the default clone); each lane is the scalar computation, so the
// bits are those of the plain loop. Columns in blocks of 512 keep the accumulators in L1.
__attribute__((target_clones("avx2", "default"))) void columnSums(const float* x, int64_t rows,
                                                                  int64_t cols, int64_t n,
                                                                  double* acc) {
  typedef double d4 __attribute__((vector_size(32)));
  typedef float f4 __attribute__((vector_size(16)));
  for (int64_t c0 = 0; c0 < n; c0 += 512) {
    int64_t c1 = std::min<int64_t>(n, c0 + 512), cv = c0 + (c1 - c0) / 4 * 4;
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * cols;
      for (int64_t c = c0; c < cv; c += 4) {
        f4 v;
        d4 a;
        std::memcpy(&v, row + c, sizeof v);
        std::memcpy(&a, acc + c, sizeof a);
        a += __builtin_convertvector(v, d4);
        std::memcpy(acc + c, &a, sizeof a);
      }
      for (int64_t c = cv; c < c1; ++c) acc[c] += static_cast<double>(row[c]);
    }
  }
}

__attribute__((target_clones("avx2", "default"))) void columnSums(const double* x, int64_t rows,
                                                                  int64_t cols, int64_t n,
                                                                  double* acc) {
  typedef double d4 __attribute__((vector_size(32)));
  for (int64_t c0 = 0; c0 < n; c0 += 512) {
    int64_t c1 = std::min<int64_t>(n, c0 + 512), cv = c0 + (c1 - c0) / 4 * 4;
    for (int64_t r = 0; r < rows; ++r) {
      const double* row = x + r * cols;
      for (int64_t c = c0; c < cv; c += 4) {
        d4 v, a;
        std::memcpy(&v, row + c, sizeof v);
        std::memcpy(&a, acc + c, sizeof a);
        a += v;
        std::memcpy(acc + c, &a, sizeof a);
      }
      for (int64_t c = cv; c < c1; ++c) acc[c] += row[c];
    }
  }
}

// reduce_sum / reduce_max / reduce_mean over any axes, accumulated in double.
template <typename T>
void reduce(const ir::Op& op, const HostArray& in, const HostArray& out, ThreadPool* pool) {
  const auto& axesAttr = op.attrAs<std::vector<int64_t>>("axes");
  size_t rank = in.shape.size();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axesAttr) reduced[normAxis(a, rank)] = true;
  // Leading axes reduced, the rest kept (bias gradients: [tokens, features] -> [features]): column
  // sums of a [rows, cols] matrix, split over threads by columns. Same terms in the same order as
  // the general loop below, so the same bits.
  size_t lead = 0;
  while (lead < rank && reduced[lead]) ++lead;
  bool prefix = lead > 0 && lead < rank;
  for (size_t d = lead; d < rank; ++d) prefix &= !reduced[d];
  if (prefix && op.kind() != OpKind::ReduceMax) {
    int64_t rows = product(in.shape, 0, lead), cols = product(in.shape, lead, rank);
    std::vector<double> acc(cols, 0.0);
    const T* x = static_cast<const T*>(in.data);
    forRange(pool, cols, rows * cols, [&](int64_t c0, int64_t c1) {
      columnSums(x + c0, rows, cols, c1 - c0, acc.data() + c0);
    });
    double count = static_cast<double>(rows);
    T* y = static_cast<T*>(out.data);
    for (int64_t c = 0; c < cols; ++c)
      y[c] = static_cast<T>(op.kind() == OpKind::ReduceMean ? acc[c] / count : acc[c]);
    return;
  }
  // Output strides for each input dim (0 for reduced dims).
  std::vector<int64_t> ostr(rank, 0);
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;)
    if (!reduced[d]) {
      ostr[d] = s;
      s *= in.shape[d];
    }
  int64_t outN = s, inN = product(in.shape, 0, rank);
  bool isMax = op.kind() == OpKind::ReduceMax;
  std::vector<double> acc(outN, isMax ? -std::numeric_limits<double>::infinity() : 0.0);
  const T* x = static_cast<const T*>(in.data);
  int64_t innerLen = rank ? in.shape[rank - 1] : 1;
  int64_t innerStride = rank ? ostr[rank - 1] : 0;
  // Columns [j0, j1) of the last dim: every output element gets its terms in input order.
  auto part = [&](int64_t j0, int64_t j1) {
    std::vector<int64_t> idx(rank, 0);
    int64_t o = 0;
    for (int64_t i = 0; i < inN; i += innerLen) {
      if (isMax) {
        for (int64_t j = j0; j < j1; ++j) {
          double v = x[i + j];
          double& a = acc[o + j * innerStride];
          if (std::isnan(v) || v > a) a = std::isnan(a) ? a : v;
        }
      } else {
        for (int64_t j = j0; j < j1; ++j) acc[o + j * innerStride] += x[i + j];
      }
      for (size_t d = rank - 1; d-- > 0;) {  // odometer over all but the last dim
        o += ostr[d];
        if (++idx[d] < in.shape[d]) break;
        o -= ostr[d] * in.shape[d];
        idx[d] = 0;
      }
    }
  };
  // A kept last dim splits over threads with disjoint outputs; a reduced one would share them.
  if (innerStride != 0) forRange(pool, innerLen, inN, part);
  else part(0, innerLen);
  double count = outN ? static_cast<double>(inN) / static_cast<double>(outN) : 0;
  T* y = static_cast<T*>(out.data);
  for (int64_t i = 0; i < outN; ++i)
    y[i] = static_cast<T>(op.kind() == OpKind::ReduceMean ? acc[i] / count : acc[i]);
}

template <typename T>
bool crossEntropy(const ir::Op& op, const std::vector<HostArray>& in, const HostArray& out,
                  ThreadPool* pool) {
  const HostArray& logits = in[0];
  const HostArray& targets = in[1];
  int64_t v = logits.shape.back();
  int64_t n = product(targets.shape, 0, targets.shape.size());
  int64_t ignore = op.intAttr("ignore_index", -100);
  auto reduction = op.enumAttr("reduction", ir::LossReduction::Mean);
  const T* x = static_cast<const T*>(logits.data);
  std::vector<double> losses(n, 0.0);
  std::vector<char> isCounted(n, 0);
  std::atomic<bool> bad{false};
  forRange(pool, n, n * v, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t t;
      if (!readIndex(targets, p, v, &t)) {
        if (t == ignore) continue;
        bad = true;
        return;
      }
      if (t == ignore) continue;
      const T* row = x + p * v;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < v; ++c) mx = std::max(mx, static_cast<double>(row[c]));
      double sum = 0;
      for (int64_t c = 0; c < v; ++c) sum += std::exp(static_cast<double>(row[c]) - mx);
      losses[p] = -(row[t] - mx - std::log(sum));
      isCounted[p] = 1;
    }
  });
  if (bad) return false;
  int64_t counted = 0;
  for (char c : isCounted) counted += c;
  T* y = static_cast<T*>(out.data);
  if (reduction == ir::LossReduction::None) {
    for (int64_t p = 0; p < n; ++p) y[p] = static_cast<T>(losses[p]);
    return true;
  }
  double total = 0;
  for (double l : losses) total += l;
  if (reduction == ir::LossReduction::Mean)
    total = counted ? total / static_cast<double>(counted)
                    : std::numeric_limits<double>::quiet_NaN();
  y[0] = static_cast<T>(total);
  return true;
}

}  // namespace

Status runReferenceOp(const ir::Op& op, const std::vector<HostArray>& operands,
                      const std::vector<HostArray>& results,
                      const std::map<std::string, int64_t>& symbols) {
  std::vector<ir::Tensor> tensors;
  tensors.reserve(operands.size());
  for (const HostArray& a : operands) tensors.push_back(bufferToTensor(a.data, a.dtype, a.shape));
  ir::EvalContext ctx{op, {}, {}, {}};
  for (const ir::Tensor& t : tensors) ctx.operands.push_back(&t);
  for (const HostArray& r : results) {
    ctx.resultShapes.push_back(r.shape);
    ctx.resultDTypes.push_back(r.dtype);
  }
  ctx.symbols = &symbols;
  StatusOr<std::vector<ir::Tensor>> out = op.info().eval(ctx);
  if (!out.isOk()) return out.status();
  for (size_t i = 0; i < results.size(); ++i) tensorToBuffer((*out)[i], results[i].data);
  return Status::ok();
}

Status runLibraryOp(const ir::Op& op, const std::vector<HostArray>& in,
                    const std::vector<HostArray>& out,
                    const std::map<std::string, int64_t>& symbols, ThreadPool* pool) {
  bool done = false;
  ir::DType t = out.empty() ? ir::DType::F32 : out[0].dtype;
  bool f32 = t == ir::DType::F32, f64 = t == ir::DType::F64;
  switch (op.kind()) {
    case OpKind::Gather:
      if (isIndexType(in[1].dtype)) done = gather(op, in, out[0], pool);
      break;
    case OpKind::ScatterAdd:
      if (isIndexType(in[1].dtype) && (f32 || f64))
        done = f32 ? scatterAdd<float>(op, in, out[0], pool) : scatterAdd<double>(op, in, out[0], pool);
      break;
    case OpKind::ReduceSum: case OpKind::ReduceMax: case OpKind::ReduceMean:
      if (f32 || f64) {
        if (f32) reduce<float>(op, in[0], out[0], pool);
        else reduce<double>(op, in[0], out[0], pool);
        done = true;
      }
      break;
    case OpKind::CrossEntropy:
      if (isIndexType(in[1].dtype) && (f32 || f64) && in[0].dtype == t)
        done = f32 ? crossEntropy<float>(op, in, out[0], pool)
                   : crossEntropy<double>(op, in, out[0], pool);
      break;
    default: break;
  }
  if (done) return Status::ok();
  return runReferenceOp(op, in, out, symbols);
}

}  // namespace tessera::codegen
