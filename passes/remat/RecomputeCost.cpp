// FLOPs and estimated time of recomputing one op (RecomputeCost.h).
#include "passes/remat/RecomputeCost.h"

#include <cassert>

#include "passes/memory/MemoryPlan.h"

namespace tessera::passes {

namespace {

StatusOr<int64_t> elements(const ir::Value& v, const std::map<std::string, int64_t>& symbols) {
  TRY_ASSIGN(int64_t bytes, valueBytes(v, symbols));
  return bytes / ir::dtypeBytes(v.type().dtype);
}

StatusOr<int64_t> dimValue(const ir::Dim& d, const std::map<std::string, int64_t>& symbols,
                           const ir::Op& op) {
  StatusOr<int64_t> v = d.evaluate(symbols);
  if (!v.isOk())
    return op.loc().known() ? Status::error(op.loc(), "recompute cost: " + v.status().message())
                            : v.status();
  return *v;
}

}  // namespace

bool isContraction(const ir::Op& op) {
  return op.kind() == ir::OpKind::Matmul || op.kind() == ir::OpKind::Dot;
}

StatusOr<int64_t> opFlops(const ir::Op& op, const std::map<std::string, int64_t>& symbols) {
  int64_t out = 0;
  for (int r = 0; r < op.numResults(); ++r) {
    TRY_ASSIGN(int64_t e, elements(*op.result(r), symbols));
    out += e;
  }
  if (op.kind() == ir::OpKind::Matmul) {
    const ir::Shape& lhs = op.operand(0)->type().shape;
    TRY_ASSIGN(int64_t k, dimValue(lhs.back(), symbols, op));
    return 2 * out * k;
  }
  if (op.kind() == ir::OpKind::Dot) {
    const ir::Shape& lhs = op.operand(0)->type().shape;
    int64_t k = 1;
    for (int64_t axis : op.attrAs<std::vector<int64_t>>("lhs_contract")) {
      TRY_ASSIGN(int64_t d, dimValue(lhs[axis], symbols, op));
      k *= d;
    }
    return 2 * out * k;
  }
  return out;
}

StatusOr<int64_t> opBytesMoved(const ir::Op& op, const std::map<std::string, int64_t>& symbols) {
  int64_t bytes = 0;
  for (const ir::Value* v : op.operands()) {
    TRY_ASSIGN(int64_t b, valueBytes(*v, symbols));
    bytes += b;
  }
  for (int r = 0; r < op.numResults(); ++r) {
    TRY_ASSIGN(int64_t b, valueBytes(*op.result(r), symbols));
    bytes += b;
  }
  return bytes;
}

StatusOr<double> opRecomputeSeconds(const ir::Op& op,
                                    const std::map<std::string, int64_t>& symbols,
                                    const RecomputeRates& rates) {
  assert(rates.gemmFlopsPerSecond > 0 && rates.bytesPerSecond > 0);
  if (isContraction(op)) {
    TRY_ASSIGN(int64_t flops, opFlops(op, symbols));
    return static_cast<double>(flops) / rates.gemmFlopsPerSecond;
  }
  TRY_ASSIGN(int64_t bytes, opBytesMoved(op, symbols));
  return static_cast<double>(bytes) / rates.bytesPerSecond;
}

}  // namespace tessera::passes
