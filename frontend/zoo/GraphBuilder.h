// A small helper for emitting the zoo's graphs concisely: ops by kind with a sticky error, data
// inputs, and parameters (a function argument bound to a module parameter of the same name, with
// an optional deterministic initial value), plus the few shorthands every model uses.
//
// Why a sticky error instead of StatusOr at every call: a model is a few hundred op emissions,
// and each can only fail if the model code itself is wrong (options are validated first). After
// the first failure every helper returns null and does nothing, and status() reports the first
// error with its op's location, so the builders stay readable and still never crash.
//
// Initial values: parameter number j (0-based, in creation order) draws element i as
// `randomNormalElement(seed + (j << 32), i, f32, 0, stddev)` (ir/interp/Philox.h), i.e. exactly
// what `random seed=(seed + j*2^32) dist=normal a=0 b=stddev : f32[shape]` computes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/Module.h"

namespace tessera::frontend::zoo {

// How a parameter starts: normal(0, stddev), all zeros, or all ones.
struct ParamInit {
  enum class Kind { Normal, Zeros, Ones } kind = Kind::Zeros;
  double stddev = 0;
  static ParamInit normal(double s) { return {Kind::Normal, s}; }
  static ParamInit zeros() { return {Kind::Zeros, 0}; }
  static ParamInit ones() { return {Kind::Ones, 0}; }
};

using Attrs = std::vector<std::pair<std::string, ir::AttrValue>>;
using IntList = std::vector<int64_t>;

class GraphBuilder {
 public:
  // `origin` names the model in op locations; without `seed` parameters get no initial value
  // (a graph for planning only).
  GraphBuilder(ir::Module& m, ir::Function& f, std::string origin, std::optional<uint64_t> seed);

  // A data argument of the function.
  ir::Value* input(const std::string& name, ir::TensorType t);
  // A trainable f32 parameter: a module parameter plus the function argument bound to it.
  ir::Value* param(const std::string& name, ir::Shape shape, ParamInit init);

  // Emits an op; returns its results (empty after an error).
  std::vector<ir::Value*> ops(ir::OpKind kind, std::vector<ir::Value*> operands, Attrs attrs = {},
                              std::vector<ir::TensorType> declared = {});
  // Emits an op and returns its first result (null after an error).
  ir::Value* op(ir::OpKind kind, std::vector<ir::Value*> operands, Attrs attrs = {},
                std::vector<ir::TensorType> declared = {});

  // ---- shorthands ----
  ir::Value* add(ir::Value* a, ir::Value* b) { return op(ir::OpKind::Add, {a, b}); }
  ir::Value* mul(ir::Value* a, ir::Value* b) { return op(ir::OpKind::Mul, {a, b}); }
  ir::Value* sub(ir::Value* a, ir::Value* b) { return op(ir::OpKind::Sub, {a, b}); }
  ir::Value* matmul(ir::Value* a, ir::Value* b) { return op(ir::OpKind::Matmul, {a, b}); }
  ir::Value* dot(ir::Value* a, ir::Value* b, IntList lhsBatch, IntList rhsBatch,
                 IntList lhsContract, IntList rhsContract);
  ir::Value* reshape(ir::Value* x, ir::Shape shape);  // same element type
  ir::Value* transpose(ir::Value* x, IntList perm);
  ir::Value* reduce(ir::OpKind kind, ir::Value* x, IntList axes, bool keepdims = false);
  ir::Value* cast(ir::Value* x, ir::DType t);
  ir::Value* scalar(double v, ir::DType t = ir::DType::F32);  // `full` of rank 0
  ir::Value* iota(ir::TensorType t, int64_t dim);
  // x @ w + b with parameters `prefix.w` [in, out] and `prefix.b` [out] (zeros).
  ir::Value* linear(ir::Value* x, const std::string& prefix, int64_t in, int64_t out,
                    ParamInit w);
  // layer_norm over the last dim with `prefix.scale` (ones) and `prefix.bias` (zeros).
  ir::Value* layerNorm(ir::Value* x, const std::string& prefix, int64_t dim);

  // Gives `v` a name in the text form (no-op on null).
  ir::Value* named(ir::Value* v, const std::string& name);

  // The first error, or ok.
  const Status& status() const { return error_; }

 private:
  bool live(const std::vector<ir::Value*>& vs) const;

  ir::Module& module_;
  ir::Function& func_;
  std::string origin_;
  std::optional<uint64_t> seed_;
  int numParams_ = 0;
  Status error_;
};

}  // namespace tessera::frontend::zoo
