// The zoo's op-emission helper; see GraphBuilder.h.
#include "frontend/zoo/GraphBuilder.h"

#include <cassert>
#include <memory>

#include "ir/interp/Philox.h"

namespace tessera::frontend::zoo {

using ir::DType;
using ir::OpKind;
using ir::Value;

GraphBuilder::GraphBuilder(ir::Module& m, ir::Function& f, std::string origin,
                           std::optional<uint64_t> seed)
    : module_(m), func_(f), origin_(std::move(origin)), seed_(seed) {}

bool GraphBuilder::live(const std::vector<Value*>& vs) const {
  if (!error_.isOk()) return false;
  for (Value* v : vs)
    if (!v) return false;
  return true;
}

Value* GraphBuilder::input(const std::string& name, ir::TensorType t) {
  return func_.addArgument(std::move(t), name);
}

Value* GraphBuilder::param(const std::string& name, ir::Shape shape, ParamInit init) {
  ir::TensorType type{DType::F32, std::move(shape)};
  ir::Parameter p;
  p.name = name;
  p.type = type;
  p.loc = Location{origin_, 0, 0};
  uint64_t index = static_cast<uint64_t>(numParams_++);
  if (seed_) {
    std::vector<int64_t> dims;
    for (const ir::Dim& d : type.shape) {
      assert(d.constant() && "parameters have constant shapes");
      dims.push_back(*d.constant());
    }
    ir::Tensor t(DType::F32, dims);
    int64_t n = t.numElements();
    uint64_t s = *seed_ + (index << 32);
    for (int64_t i = 0; i < n; ++i) {
      switch (init.kind) {
        case ParamInit::Kind::Normal:
          t.set(i, ir::randomNormalElement(s, static_cast<uint64_t>(i), DType::F32, 0.0,
                                           init.stddev));
          break;
        case ParamInit::Kind::Ones:
          t.set(i, 1.0);
          break;
        case ParamInit::Kind::Zeros:
          break;
      }
    }
    p.init = std::make_shared<const ir::Tensor>(std::move(t));
  }
  module_.params.push_back(std::move(p));
  return func_.addArgument(std::move(type), name);
}

std::vector<Value*> GraphBuilder::ops(OpKind kind, std::vector<Value*> operands, Attrs attrs,
                                      std::vector<ir::TensorType> declared) {
  if (!live(operands)) return {};
  Location loc{origin_, func_.numOps() + 1, 1};
  StatusOr<ir::Op*> o =
      func_.addOp(ir::OpSpec{kind, std::move(operands), std::move(attrs), std::move(declared),
                             std::move(loc)});
  if (!o.isOk()) {
    error_ = o.status();
    return {};
  }
  std::vector<Value*> results;
  for (int i = 0; i < (*o)->numResults(); ++i) results.push_back((*o)->result(i));
  return results;
}

Value* GraphBuilder::op(OpKind kind, std::vector<Value*> operands, Attrs attrs,
                        std::vector<ir::TensorType> declared) {
  std::vector<Value*> r = ops(kind, std::move(operands), std::move(attrs), std::move(declared));
  return r.empty() ? nullptr : r[0];
}

Value* GraphBuilder::dot(Value* a, Value* b, IntList lhsBatch, IntList rhsBatch,
                         IntList lhsContract, IntList rhsContract) {
  return op(OpKind::Dot, {a, b},
            {{"lhs_batch", std::move(lhsBatch)},
             {"rhs_batch", std::move(rhsBatch)},
             {"lhs_contract", std::move(lhsContract)},
             {"rhs_contract", std::move(rhsContract)}});
}

Value* GraphBuilder::reshape(Value* x, ir::Shape shape) {
  if (!live({x})) return nullptr;
  return op(OpKind::Reshape, {x}, {}, {ir::TensorType{x->type().dtype, std::move(shape)}});
}

Value* GraphBuilder::transpose(Value* x, IntList perm) {
  return op(OpKind::Transpose, {x}, {{"perm", std::move(perm)}});
}

Value* GraphBuilder::reduce(OpKind kind, Value* x, IntList axes, bool keepdims) {
  Attrs attrs{{"axes", std::move(axes)}};
  if (keepdims) attrs.emplace_back("keepdims", true);
  return op(kind, {x}, std::move(attrs));
}

Value* GraphBuilder::cast(Value* x, DType t) { return op(OpKind::Cast, {x}, {{"dtype", t}}); }

Value* GraphBuilder::scalar(double v, DType t) {
  return op(OpKind::Full, {}, {{"value", v}}, {ir::TensorType{t, {}}});
}

Value* GraphBuilder::iota(ir::TensorType t, int64_t dim) {
  return op(OpKind::Iota, {}, {{"dim", dim}}, {std::move(t)});
}

Value* GraphBuilder::linear(Value* x, const std::string& prefix, int64_t in, int64_t out,
                            ParamInit w) {
  Value* y = matmul(x, param(prefix + ".w", {in, out}, w));
  return add(y, param(prefix + ".b", {out}, ParamInit::zeros()));
}

Value* GraphBuilder::layerNorm(Value* x, const std::string& prefix, int64_t dim) {
  return op(OpKind::LayerNorm, {x, param(prefix + ".scale", {dim}, ParamInit::ones()),
                                param(prefix + ".bias", {dim}, ParamInit::zeros())});
}

Value* GraphBuilder::named(Value* v, const std::string& name) {
  if (v) v->setName(name);
  return v;
}

}  // namespace tessera::frontend::zoo
