// What a gradient rule sees and how it emits the backward ops.
//
// Reverse mode visits the forward ops from last to first. For one op it calls the op's rule
// (GradRules.def) with the cotangent of each result (null: that result does not reach the loss);
// the rule appends ops computing the cotangent of each operand and returns them (null: no
// gradient flows to that operand, e.g. integer indices). Returned cotangents must have exactly
// the operand's type; rules use `unbroadcast` to undo numpy broadcasting.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

struct GradContext {
  ir::Function& f;                    // where backward ops are appended (at the end)
  const ir::Op& op;                   // the forward op
  std::vector<ir::Value*> resultGrads;  // one per result of `op`; null = zero

  // Appends one op at the end of `f`, located at the forward op, and returns its first result.
  StatusOr<ir::Value*> emit(ir::OpKind kind, std::vector<ir::Value*> operands,
                            std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                            std::vector<ir::TensorType> declared = {});
  // All results of the appended op.
  StatusOr<ir::Op*> emitOp(ir::OpKind kind, std::vector<ir::Value*> operands,
                           std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                           std::vector<ir::TensorType> declared = {});
  // A scalar or full tensor of `type` filled with `value`.
  StatusOr<ir::Value*> full(const ir::TensorType& type, double value);
  // Sums `grad` over the dims numpy broadcasting added or stretched so it has `target`'s shape.
  StatusOr<ir::Value*> unbroadcast(ir::Value* grad, const ir::TensorType& target);
  Status error(const std::string& message) const;
};

using GradFn = StatusOr<std::vector<ir::Value*>> (*)(GradContext&);

#define GRAD(kind, fn) StatusOr<std::vector<ir::Value*>> fn(GradContext&);
#include "passes/autodiff/GradRules.def"

}  // namespace tessera::passes
