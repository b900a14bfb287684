// TEMPORARY scaffolding while the op rules are written in parallel: weak definitions that any
// real rule overrides. Deleted before the foundation issue closes.
#include "ir/OpRules.h"

namespace tessera::ir {

__attribute__((weak)) StatusOr<std::vector<TensorType>> inferUnary(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferUnaryFloat(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferBinary(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferCompare(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferSelect(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferCast(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferConstant(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferDeclared(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferReduce(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferArgmax(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferDot(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferMatmul(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferReshape(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferTranspose(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferBroadcastInDim(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferSlice(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferConcat(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferPad(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferGather(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferScatterAdd(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferOneHot(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferTopK(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferCumsum(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferSoftmax(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferLayerNorm(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferRmsNorm(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferCrossEntropy(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferAllReduce(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferReduceScatter(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferAllGather(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferAllToAll(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferCollectivePermute(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferSend(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferRecv(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<TensorType>> inferBroadcast(const InferContext& c) { return c.error("no shape rule yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalUnary(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalBinary(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalCompare(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalSelect(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalCast(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalConstant(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalIota(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalFull(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalRandom(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalReduce(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalArgmax(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalDot(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalMatmul(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalReshape(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalTranspose(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalBroadcastInDim(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalSlice(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalConcat(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalPad(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalGather(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalScatterAdd(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalOneHot(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalTopK(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalCumsum(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalSoftmax(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalLayerNorm(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalRmsNorm(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalCrossEntropy(const EvalContext& c) { return c.error("no semantics yet"); }
__attribute__((weak)) StatusOr<std::vector<Tensor>> evalCollective(const EvalContext& c) { return c.error("no semantics yet"); }

}  // namespace tessera::ir
