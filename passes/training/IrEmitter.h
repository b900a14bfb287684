// A small builder that appends ops to the end of a function, all at one location, with fresh
// value names. The training-step construction (optimizer updates, clipping, accumulation) is
// written with it, so those files read as the formulas they implement.
//
// Every op goes through Function::addOp, so its shape rule checks it; an error there is a bug in
// the caller (the operands are values this code built), but it is still returned as a Status
// rather than asserted, so a surprising model produces a message instead of a crash.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

class IrEmitter {
 public:
  IrEmitter(ir::Function& f, Location loc);

  ir::Function& function() { return f_; }
  // A name not yet used by any argument or op result of the function: `base`, else `base.1`, ...
  std::string freshName(const std::string& base);
  // Records names given by other code (e.g. an inliner) so freshName avoids them.
  void reserveName(const std::string& name) { used_.insert(name); }

  // Appends an op; names its first result `name` (made fresh) if not empty.
  StatusOr<ir::Op*> op(ir::OpKind kind, std::vector<ir::Value*> operands,
                       std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                       std::vector<ir::TensorType> declared = {}, const std::string& name = "");
  StatusOr<ir::Value*> value(ir::OpKind kind, std::vector<ir::Value*> operands,
                             std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                             std::vector<ir::TensorType> declared = {},
                             const std::string& name = "");

  // A scalar of `dtype` holding `v` (rounded to the dtype by the op's semantics).
  StatusOr<ir::Value*> scalar(ir::DType dtype, double v);

  StatusOr<ir::Value*> add(ir::Value* a, ir::Value* b, const std::string& name = "");
  StatusOr<ir::Value*> sub(ir::Value* a, ir::Value* b, const std::string& name = "");
  StatusOr<ir::Value*> mul(ir::Value* a, ir::Value* b, const std::string& name = "");
  StatusOr<ir::Value*> div(ir::Value* a, ir::Value* b, const std::string& name = "");
  StatusOr<ir::Value*> pow(ir::Value* a, ir::Value* b, const std::string& name = "");
  StatusOr<ir::Value*> min(ir::Value* a, ir::Value* b, const std::string& name = "");
  StatusOr<ir::Value*> sqrt(ir::Value* a, const std::string& name = "");
  StatusOr<ir::Value*> cast(ir::Value* a, ir::DType to, const std::string& name = "");
  // `a` cast to `to` unless it already has that dtype.
  StatusOr<ir::Value*> castIfNeeded(ir::Value* a, ir::DType to);
  // `a` times the scalar constant `c` (of a's dtype).
  StatusOr<ir::Value*> scale(ir::Value* a, double c, const std::string& name = "");
  // The sum of all elements of `a` as a scalar of a's dtype.
  StatusOr<ir::Value*> sumAll(ir::Value* a, const std::string& name = "");

 private:
  ir::Function& f_;
  Location loc_;
  std::set<std::string> used_;
  int counter_ = 0;
};

}  // namespace tessera::passes
