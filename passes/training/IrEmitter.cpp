// Appending ops for the training-step construction (see IrEmitter.h).
#include "passes/training/IrEmitter.h"

#include <numeric>

namespace tessera::passes {

using ir::OpKind;
using ir::Value;

IrEmitter::IrEmitter(ir::Function& f, Location loc) : f_(f), loc_(std::move(loc)) {
  for (int i = 0; i < f.numArguments(); ++i) used_.insert(f.argument(i)->name());
  for (const auto& op : f.ops())
    for (int r = 0; r < op->numResults(); ++r) used_.insert(op->result(r)->name());
}

std::string IrEmitter::freshName(const std::string& base) {
  std::string name = base;
  for (int i = 1; used_.count(name); ++i) name = base + "." + std::to_string(i);
  used_.insert(name);
  return name;
}

StatusOr<ir::Op*> IrEmitter::op(OpKind kind, std::vector<Value*> operands,
                                std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                std::vector<ir::TensorType> declared, const std::string& name) {
  ir::OpSpec spec{kind, std::move(operands), std::move(attrs), std::move(declared), loc_};
  TRY_ASSIGN(ir::Op * o, f_.addOp(std::move(spec)));
  if (!name.empty()) o->result(0)->setName(freshName(name));
  return o;
}

StatusOr<Value*> IrEmitter::value(OpKind kind, std::vector<Value*> operands,
                                  std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                  std::vector<ir::TensorType> declared, const std::string& name) {
  TRY_ASSIGN(ir::Op * o,
             op(kind, std::move(operands), std::move(attrs), std::move(declared), name));
  return o->result(0);
}

StatusOr<Value*> IrEmitter::scalar(ir::DType dtype, double v) {
  return value(OpKind::Full, {}, {{"value", v}}, {ir::TensorType{dtype, {}}});
}

StatusOr<Value*> IrEmitter::add(Value* a, Value* b, const std::string& name) {
  return value(OpKind::Add, {a, b}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::sub(Value* a, Value* b, const std::string& name) {
  return value(OpKind::Sub, {a, b}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::mul(Value* a, Value* b, const std::string& name) {
  return value(OpKind::Mul, {a, b}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::div(Value* a, Value* b, const std::string& name) {
  return value(OpKind::Div, {a, b}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::pow(Value* a, Value* b, const std::string& name) {
  return value(OpKind::Pow, {a, b}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::min(Value* a, Value* b, const std::string& name) {
  return value(OpKind::Min, {a, b}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::sqrt(Value* a, const std::string& name) {
  return value(OpKind::Sqrt, {a}, {}, {}, name);
}
StatusOr<Value*> IrEmitter::cast(Value* a, ir::DType to, const std::string& name) {
  return value(OpKind::Cast, {a}, {{"dtype", to}}, {}, name);
}

StatusOr<Value*> IrEmitter::castIfNeeded(Value* a, ir::DType to) {
  if (a->type().dtype == to) return a;
  return cast(a, to);
}

StatusOr<Value*> IrEmitter::scale(Value* a, double c, const std::string& name) {
  TRY_ASSIGN(Value * s, scalar(a->type().dtype, c));
  return mul(a, s, name);
}

StatusOr<Value*> IrEmitter::sumAll(Value* a, const std::string& name) {
  if (a->type().rank() == 0) return a;
  std::vector<int64_t> axes(a->type().rank());
  std::iota(axes.begin(), axes.end(), 0);
  return value(OpKind::ReduceSum, {a}, {{"axes", axes}}, {}, name);
}

}  // namespace tessera::passes
