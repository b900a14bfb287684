// Test helpers for the op-rule tests of tests/unit/ops_b: build one op in a fresh function with
// Function::addOp (running its shape rule), and run its eval function directly on concrete
// tensors, the way the interpreter does.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::ir::testing {

inline Dim sym(const std::string& s) { return Dim::symbol(s); }
inline TensorType tt(DType d, Shape s) { return TensorType{d, std::move(s)}; }

// A module with one function that tests add arguments and ops to.
struct OpBuilder {
  Module module{"test"};
  Function* fn = module.addFunction("f");

  Value* arg(DType d, Shape s) { return fn->addArgument(tt(d, std::move(s))); }
  Value* arg(TensorType t) { return fn->addArgument(std::move(t)); }

  StatusOr<Op*> add(OpKind kind, std::vector<Value*> operands,
                    std::vector<std::pair<std::string, AttrValue>> attrs = {},
                    std::vector<TensorType> declared = {}) {
    OpSpec spec{kind, std::move(operands), std::move(attrs), std::move(declared),
                Location{"ops.tir", 7, 3}};
    return fn->addOp(std::move(spec));
  }
  // The types an op would get, or its error.
  StatusOr<std::vector<TensorType>> infer(OpKind kind, std::vector<Value*> operands,
                                          std::vector<std::pair<std::string, AttrValue>> attrs = {},
                                          std::vector<TensorType> declared = {}) {
    TRY_ASSIGN(Op * op, add(kind, std::move(operands), std::move(attrs), std::move(declared)));
    std::vector<TensorType> out;
    for (int i = 0; i < op->numResults(); ++i) out.push_back(op->result(i)->type());
    return out;
  }
};

// The error message of a failed build, or "" if it succeeded.
template <typename T>
std::string errorOf(const StatusOr<T>& s) {
  return s.isOk() ? "" : s.status().message();
}

inline std::string errorOf(const Status& s) { return s.isOk() ? "" : s.message(); }

// Runs `op`'s eval function on `inputs`; result shapes come from the op's result types with the
// given symbol values.
inline StatusOr<std::vector<Tensor>> runOp(const Op& op, const std::vector<Tensor>& inputs,
                                           const std::map<std::string, int64_t>& symbols = {}) {
  EvalContext ctx{op, {}, {}, {}};
  for (const Tensor& t : inputs) ctx.operands.push_back(&t);
  for (int i = 0; i < op.numResults(); ++i) {
    const TensorType& t = op.result(i)->type();
    std::vector<int64_t> shape;
    for (const Dim& d : t.shape) {
      auto v = d.evaluate(symbols);
      EXPECT_TRUE(v.isOk()) << v.status().message();
      shape.push_back(v.isOk() ? *v : 0);
    }
    ctx.resultShapes.push_back(shape);
    ctx.resultDTypes.push_back(t.dtype);
  }
  return op.info().eval(ctx);
}

// Builds op and runs it; fails the test on any error.
inline Tensor runOne(const Op* op, const std::vector<Tensor>& inputs,
                     const std::map<std::string, int64_t>& symbols = {}) {
  auto r = runOp(*op, inputs, symbols);
  EXPECT_TRUE(r.isOk()) << errorOf(r);
  return r.isOk() ? (*r)[0] : Tensor();
}

// Deterministic pseudo-random values in [lo, hi) (a 64-bit LCG), independent of the code tested.
inline std::vector<double> randomValues(size_t n, uint64_t seed, double lo = -1, double hi = 1) {
  std::vector<double> v(n);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (double& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = lo + (hi - lo) * static_cast<double>(s >> 11) / 9007199254740992.0;
  }
  return v;
}

inline Tensor randomTensor(DType d, std::vector<int64_t> shape, uint64_t seed, double lo = -1,
                           double hi = 1) {
  return Tensor(d, shape, randomValues(static_cast<size_t>(numElementsOf(shape)), seed, lo, hi));
}

inline std::vector<int64_t> ints(std::vector<int64_t> v) { return v; }

}  // namespace tessera::ir::testing
