// Helpers that append ops to a local function; see LocalBuilder.h.
#include "partition/spmd/LocalBuilder.h"

#include <cassert>
#include <memory>

#include "ir/Module.h"
#include "partition/spmd/LocalLayout.h"

namespace tessera::partition {

using ir::DType;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

int64_t LocalBuilder::groupSize(const AxisNames& axes) const { return axesSize(mesh_, axes); }

StatusOr<Value*> LocalBuilder::emit(OpKind kind, std::vector<Value*> operands,
                                    std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                    std::vector<TensorType> declared) {
  ir::OpSpec spec{kind, std::move(operands), std::move(attrs), std::move(declared), loc};
  TRY_ASSIGN(ir::Op * op, f_.addOp(std::move(spec)));
  return op->result(0);
}

StatusOr<Value*> LocalBuilder::collective(OpKind kind, Value* x, const AxisNames& axes,
                                          std::vector<std::pair<std::string, ir::AttrValue>> attrs) {
  attrs.emplace_back("axes", ir::AxisList{axes});
  if (f_.module() && f_.module()->meshes.size() > 1)
    attrs.emplace_back("mesh", ir::MeshRef{mesh_.name});
  return emit(kind, {x}, std::move(attrs));
}

StatusOr<Value*> LocalBuilder::scalar(DType t, double v) {
  auto value = std::make_shared<const ir::Tensor>(ir::Tensor::scalar(t, v));
  return emit(OpKind::Constant, {}, {{"value", ir::TensorAttr{value}}});
}

StatusOr<Value*> LocalBuilder::fill(const TensorType& t, double v) {
  return emit(OpKind::Full, {}, {{"value", v}}, {t});
}

StatusOr<Value*> LocalBuilder::axisIndex(const AxisNames& axes) {
  if (auto it = axisIndexCache_.find(axes); it != axisIndexCache_.end()) return it->second;
  std::vector<std::pair<std::string, ir::AttrValue>> attrs{{"axes", ir::AxisList{axes}}};
  if (f_.module() && f_.module()->meshes.size() > 1)
    attrs.emplace_back("mesh", ir::MeshRef{mesh_.name});
  TRY_ASSIGN(Value * v, emit(OpKind::AxisIndex, {}, std::move(attrs)));
  axisIndexCache_[axes] = v;
  return v;
}

StatusOr<Value*> LocalBuilder::blockOffset(int64_t len, const AxisNames& axes) {
  TRY_ASSIGN(Value * pos, axisIndex(axes));
  TRY_ASSIGN(Value * l, scalar(DType::I64, static_cast<double>(len)));
  return emit(OpKind::Mul, {pos, l});
}

StatusOr<Value*> LocalBuilder::validMask(Value* x, int dim, int64_t len, int64_t globalSize,
                                         const AxisNames& axes) {
  TRY_ASSIGN(Value * iota, emit(OpKind::Iota, {}, {{"dim", int64_t{0}}},
                                {TensorType{DType::I64, {ir::Dim(len)}}}));
  TRY_ASSIGN(Value * off, blockOffset(len, axes));
  TRY_ASSIGN(Value * global, emit(OpKind::Add, {iota, off}));
  TRY_ASSIGN(Value * limit, scalar(DType::I64, static_cast<double>(globalSize)));
  TRY_ASSIGN(Value * ok, emit(OpKind::Compare, {global, limit},
                              {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Lt)}}));
  TensorType shape{DType::Bool, x->type().shape};
  return emit(OpKind::BroadcastInDim, {ok}, {{"dims", std::vector<int64_t>{dim}}}, {shape});
}

StatusOr<Value*> LocalBuilder::maskPadding(Value* x, int dim, const ir::Dim& globalSize,
                                           const AxisNames& axes, double identity) {
  int64_t n = groupSize(axes);
  if (axes.empty() || isEvenSplit(globalSize, n)) return x;
  int64_t D = *globalSize.constant();
  int64_t len = *localDim(globalSize, n).constant();
  TRY_ASSIGN(Value * mask, validMask(x, dim, len, D, axes));
  TRY_ASSIGN(Value * fillV, fill(x->type(), identity));
  return emit(OpKind::Select, {mask, x, fillV});
}

// Even splits: reshape [.., D, ..] -> [.., n, D/n, ..] and take row axisIndex (works for symbolic
// D). Uneven: gather the rows offset + iota, clamped to D-1 (the padded rows repeat the last row;
// every reduction masks them).
StatusOr<Value*> LocalBuilder::localSlice(Value* x, int dim, const ir::Dim& globalSize,
                                          const AxisNames& axes) {
  int64_t n = groupSize(axes);
  if (n == 1) return x;
  TRY_ASSIGN(Value * pos, axisIndex(axes));
  const TensorType& t = x->type();
  ir::Dim len = localDim(globalSize, n);
  if (isEvenSplit(globalSize, n)) {
    TensorType split = t;
    split.shape[dim] = len;
    split.shape.insert(split.shape.begin() + dim, ir::Dim(n));
    TRY_ASSIGN(Value * r, emit(OpKind::Reshape, {x}, {}, {split}));
    return emit(OpKind::Gather, {r, pos}, {{"axis", int64_t{dim}}});
  }
  int64_t L = *len.constant(), D = *globalSize.constant();
  TRY_ASSIGN(Value * iota, emit(OpKind::Iota, {}, {{"dim", int64_t{0}}},
                                {TensorType{DType::I64, {ir::Dim(L)}}}));
  TRY_ASSIGN(Value * off, blockOffset(L, axes));
  TRY_ASSIGN(Value * idx, emit(OpKind::Add, {iota, off}));
  TRY_ASSIGN(Value * last, scalar(DType::I64, static_cast<double>(D - 1)));
  TRY_ASSIGN(Value * clamped, emit(OpKind::Min, {idx, last}));
  return emit(OpKind::Gather, {x, clamped}, {{"axis", int64_t{dim}}});
}

}  // namespace tessera::partition
