// The helpers gradient rules emit backward ops with (GradContext.h).
//
// Every backward op is appended at the end of the function and carries the forward op's location,
// so a shape error in a rule, or a later diagnostic about a backward op, points at the source line
// whose gradient produced it.
#include "passes/autodiff/GradContext.h"

#include <cassert>

#include "ir/Op.h"

namespace tessera::passes {

StatusOr<ir::Op*> GradContext::emitOp(ir::OpKind kind, std::vector<ir::Value*> operands,
                                      std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                      std::vector<ir::TensorType> declared) {
  ir::OpSpec spec{kind, std::move(operands), std::move(attrs), std::move(declared), op.loc()};
  // addOp's error is already located at op.loc() and names the backward op's mnemonic.
  return f.addOp(std::move(spec));
}

StatusOr<ir::Value*> GradContext::emit(ir::OpKind kind, std::vector<ir::Value*> operands,
                                       std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                       std::vector<ir::TensorType> declared) {
  TRY_ASSIGN(ir::Op * o, emitOp(kind, std::move(operands), std::move(attrs), std::move(declared)));
  assert(o->numResults() > 0);
  return o->result(0);
}

StatusOr<ir::Value*> GradContext::full(const ir::TensorType& type, double value) {
  return emit(ir::OpKind::Full, {}, {{"value", value}}, {type});
}

StatusOr<ir::Value*> GradContext::unbroadcast(ir::Value* grad, const ir::TensorType& target) {
  const ir::TensorType& g = grad->type();
  assert(g.dtype == target.dtype);
  if (g == target) return grad;
  if (g.rank() < target.rank())
    return error("cannot unbroadcast a cotangent of type " + g.str() + " to " + target.str());
  // Numpy broadcasting aligns trailing dims: the leading `lead` dims were added, and a target dim
  // of 1 facing a different dim was stretched. Summing both with keepdims leaves a tensor with
  // the target's elements in the same order, so at most one reshape finishes the job.
  int lead = g.rank() - target.rank();
  std::vector<int64_t> axes;
  for (int d = 0; d < lead; ++d) axes.push_back(d);
  for (int d = 0; d < target.rank(); ++d) {
    const ir::Dim& from = g.shape[lead + d];
    const ir::Dim& to = target.shape[d];
    if (from == to) continue;
    if (to != ir::Dim(1))
      return error("cannot unbroadcast a cotangent of type " + g.str() + " to " + target.str() +
                   ": dim " + std::to_string(d) + " is " + to.str() + ", not 1");
    axes.push_back(lead + d);
  }
  // When only leading dims were added, dropping them is exactly the target shape.
  bool onlyLeading = static_cast<int>(axes.size()) == lead;
  ir::Value* summed = grad;
  if (!axes.empty()) {
    std::vector<std::pair<std::string, ir::AttrValue>> attrs = {{"axes", axes}};
    if (!onlyLeading) attrs.push_back({"keepdims", true});
    TRY_ASSIGN(summed, emit(ir::OpKind::ReduceSum, {grad}, std::move(attrs)));
  }
  if (summed->type() == target) return summed;
  return emit(ir::OpKind::Reshape, {summed}, {}, {target});
}

Status GradContext::error(const std::string& message) const {
  return Status::error(op.loc(), std::string("gradient of ") + op.mnemonic() + ": " + message);
}

}  // namespace tessera::passes
