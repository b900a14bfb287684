// Helpers for the tests of tests/unit/ops_a: build ops with Function::addOp (which runs the shape
// rule) and run them through the reference interpreter, so every semantics test also exercises
// the interpreter's symbol binding and result checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/Interpreter.h"
#include "ir/Module.h"

namespace tessera::ir::opsa {

using Attrs = std::vector<std::pair<std::string, AttrValue>>;

inline Dim sym(const std::string& s) { return Dim::symbol(s); }

// A module with one function @f that tests add arguments and ops to.
struct Builder {
  Module module{"opsa"};
  Function* fn = module.addFunction("f");

  Value* arg(DType d, Shape s, std::string name = "") {
    if (name.empty()) name = "a" + std::to_string(fn->numArguments());
    return fn->addArgument(TensorType{d, std::move(s)}, std::move(name));
  }
  StatusOr<Op*> add(OpKind kind, std::vector<Value*> operands, Attrs attrs = {},
                    std::vector<TensorType> declared = {}) {
    return fn->addOp(OpSpec{kind, std::move(operands), std::move(attrs), std::move(declared),
                            Location{"test.tir", 3, 5}});
  }
  // Adds the op, which must build; fails the test otherwise.
  Op* must(OpKind kind, std::vector<Value*> operands, Attrs attrs = {},
           std::vector<TensorType> declared = {}) {
    auto op = add(kind, std::move(operands), std::move(attrs), std::move(declared));
    EXPECT_TRUE(op.isOk()) << op.status().message();
    return op.isOk() ? *op : nullptr;
  }
  // The type of the op's first result, or the error text of its shape rule.
  std::string typeOrError(OpKind kind, std::vector<Value*> operands, Attrs attrs = {},
                          std::vector<TensorType> declared = {}) {
    auto op = add(kind, std::move(operands), std::move(attrs), std::move(declared));
    if (!op.isOk()) return op.status().message();
    return (*op)->numResults() ? (*op)->result(0)->type().str() : "()";
  }
  // Returns `v` from @f and interprets it with positional inputs.
  StatusOr<Tensor> eval(Value* v, const std::vector<Tensor>& inputs) {
    fn->setResults({v});
    TRY_ASSIGN(InterpretResult r, interpret(*fn, inputs));
    return r.outputs[0];
  }
  Tensor mustEval(Value* v, const std::vector<Tensor>& inputs) {
    auto r = eval(v, inputs);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? *r : Tensor();
  }
};

inline Tensor f32(std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor(DType::F32, std::move(shape), std::move(v));
}
inline Tensor f64(std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor(DType::F64, std::move(shape), std::move(v));
}
inline Tensor i64(std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor(DType::I64, std::move(shape), std::move(v));
}
inline Tensor i32(std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor(DType::I32, std::move(shape), std::move(v));
}
inline Tensor boolean(std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor(DType::Bool, std::move(shape), std::move(v));
}

// Exact comparison of dtype, shape and values (NaN equal to NaN).
inline void expectTensor(const Tensor& got, DType dtype, const std::vector<int64_t>& shape,
                         const std::vector<double>& values) {
  ASSERT_EQ(dtypeName(got.dtype()), std::string(dtypeName(dtype)));
  ASSERT_EQ(got.shape(), shape);
  ASSERT_EQ(got.numElements(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) EXPECT_TRUE(std::isnan(got[i])) << "element " << i;
    else EXPECT_EQ(got[i], values[i]) << "element " << i;
  }
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace tessera::ir::opsa
