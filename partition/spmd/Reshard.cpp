// Resharding between two layouts of one global tensor; see Reshard.h for the steps and why
// uneven dims are made whole before they are re-split.
#include "partition/spmd/Reshard.h"

#include <algorithm>
#include <cassert>
#include <map>

#include "partition/spmd/LocalLayout.h"

namespace tessera::partition {

using ir::OpKind;
using ir::PartialKind;
using ir::Value;

ir::Sharding layoutOf(const ir::Sharding& s, int rank) {
  ir::Sharding out;
  out.mesh = s.mesh;
  out.dims.resize(rank);
  for (int d = 0; d < rank && d < static_cast<int>(s.dims.size()); ++d) out.dims[d].axes = s.dims[d].axes;
  out.partial = s.partial;
  return out;
}

namespace {

bool hasPartial(const ir::Sharding& s, const std::string& axis) {
  for (const auto& [a, k] : s.partial)
    if (a == axis) return true;
  return false;
}

ir::EnumAttr reduceOpOf(PartialKind k) {
  return ir::makeEnum(ir::kReduceOpEnum, k == PartialKind::Sum ? ir::ReduceOp::Sum : ir::ReduceOp::Max);
}

bool startsWith(const AxisNames& a, const AxisNames& prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

// Resolves partials of `cur` that `to` does not have.
StatusOr<Value*> resolvePartials(LocalBuilder& b, Value* x, const ir::TensorType& global,
                                 ir::Sharding& cur, const ir::Sharding& to) {
  std::vector<std::pair<std::string, PartialKind>> keep;
  std::map<PartialKind, AxisNames> reduceAll;
  for (const auto& [axis, kind] : cur.partial) {
    if (hasPartial(to, axis)) {
      keep.emplace_back(axis, kind);
      continue;
    }
    // reduce_scatter when the target splits dim d exactly one axis further, by `axis`.
    int scatterDim = -1;
    for (int d = 0; d < global.rank() && kind == PartialKind::Sum; ++d) {
      AxisNames want = cur.dims[d].axes;
      want.push_back(axis);
      if (to.dims[d].axes == want && cur.dims[d].axes.empty()) scatterDim = d;
      if (to.dims[d].axes == want && !cur.dims[d].axes.empty() &&
          isEvenSplit(global.shape[d], b.groupSize(want)))
        scatterDim = d;
    }
    if (scatterDim < 0) {
      reduceAll[kind].push_back(axis);
      continue;
    }
    int64_t n = b.groupSize({axis});
    const ir::Dim& D = global.shape[scatterDim];
    if (!isEvenSplit(D, n)) {  // pad to n * ceil(D/n) first; reduce_scatter needs equal blocks
      std::vector<int64_t> low(global.rank(), 0), high(global.rank(), 0);
      high[scatterDim] = *localDim(D, n).constant() * n - *D.constant();
      TRY_ASSIGN(x, b.emit(OpKind::Pad, {x}, {{"low", low}, {"high", high}}));
    }
    TRY_ASSIGN(x, b.collective(OpKind::ReduceScatter, x, {axis},
                               {{"dim", int64_t{scatterDim}}, {"op", reduceOpOf(kind)}}));
    cur.dims[scatterDim].axes.push_back(axis);
  }
  for (const auto& [kind, axes] : reduceAll) {
    TRY_ASSIGN(x, b.collective(OpKind::AllReduce, x, axes, {{"op", reduceOpOf(kind)}}));
  }
  cur.partial = keep;
  return x;
}

}  // namespace

StatusOr<Value*> reshard(LocalBuilder& b, Value* x, const ir::TensorType& global,
                         const ir::Sharding& fromIn, const ir::Sharding& toIn) {
  const int rank = global.rank();
  ir::Sharding cur = layoutOf(fromIn, rank), to = layoutOf(toIn, rank);
  if (cur == to) return x;
  TRY_ASSIGN(x, resolvePartials(b, x, global, cur, to));

  // all_to_all: axis `a` is the last split of dim d (and only that), and the target splits d'
  // by a in addition to what d' has now; both dims even.
  for (int d = 0; d < rank; ++d) {
    if (cur.dims[d].axes.size() != 1 || !to.dims[d].axes.empty()) continue;
    const std::string a = cur.dims[d].axes[0];
    for (int d2 = 0; d2 < rank; ++d2) {
      if (d2 == d || cur.dims[d2].axes != AxisNames{} || to.dims[d2].axes != AxisNames{a}) continue;
      int64_t n = b.groupSize({a});
      if (!isEvenSplit(global.shape[d], n) || !isEvenSplit(global.shape[d2], n)) continue;
      TRY_ASSIGN(x, b.collective(OpKind::AllToAll, x, {a},
                                 {{"split_dim", int64_t{d2}}, {"concat_dim", int64_t{d}}}));
      cur.dims[d].axes.clear();
      cur.dims[d2].axes = {a};
      break;
    }
  }

  // Gathers first (an axis leaving one dim may be needed by another), then local slices.
  std::vector<AxisNames> prefix(rank);
  for (int d = 0; d < rank; ++d) {
    const AxisNames& from = cur.dims[d].axes;
    const AxisNames& want = to.dims[d].axes;
    if (from == want) {
      prefix[d] = from;
      continue;
    }
    size_t common = 0;
    while (common < from.size() && common < want.size() && from[common] == want[common]) ++common;
    AxisNames keep(from.begin(), from.begin() + common);
    const ir::Dim& D = global.shape[d];
    bool even = isEvenSplit(D, b.groupSize(from)) && isEvenSplit(D, b.groupSize(want));
    if (!even) keep.clear();
    AxisNames gather(from.begin() + keep.size(), from.end());
    if (!gather.empty()) {
      TRY_ASSIGN(x, b.collective(OpKind::AllGather, x, gather, {{"dim", int64_t{d}}}));
      if (keep.empty() && !isEvenSplit(D, b.groupSize(from))) {
        std::vector<ir::Dim> start(rank, ir::Dim(0)), limit = x->type().shape;
        limit[d] = D;
        TRY_ASSIGN(x, b.emit(OpKind::Slice, {x}, {{"start", start}, {"limit", limit}}));
      }
    }
    prefix[d] = keep;
  }
  for (int d = 0; d < rank; ++d) {
    const AxisNames& want = to.dims[d].axes;
    if (prefix[d] == want) continue;
    assert(startsWith(want, prefix[d]));
    AxisNames add(want.begin() + prefix[d].size(), want.end());
    // The dim's current local extent: the global size divided by the kept prefix.
    ir::Dim curSize = localDim(global.shape[d], b.groupSize(prefix[d]));
    TRY_ASSIGN(x, b.localSlice(x, d, curSize, add));
  }
  cur.dims = to.dims;

  // whole -> partial{sum}: position 0 of the group keeps the value, the others hold zeros.
  for (const auto& [axis, kind] : to.partial) {
    if (hasPartial(cur, axis)) continue;
    if (kind != PartialKind::Sum) continue;  // a replicated value is already a valid partial max
    TRY_ASSIGN(Value * pos, b.axisIndex({axis}));
    TRY_ASSIGN(Value * zero, b.scalar(ir::DType::I64, 0));
    TRY_ASSIGN(Value * first, b.emit(OpKind::Compare, {pos, zero},
                                     {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Eq)}}));
    TRY_ASSIGN(Value * pred, b.emit(OpKind::BroadcastInDim, {first}, {{"dims", std::vector<int64_t>{}}},
                                    {ir::TensorType{ir::DType::Bool, x->type().shape}}));
    TRY_ASSIGN(Value * zeros, b.fill(x->type(), 0.0));
    TRY_ASSIGN(x, b.emit(OpKind::Select, {pred, x, zeros}));
  }
  return x;
}

}  // namespace tessera::partition

