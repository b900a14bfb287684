// The interpreter driver: symbol binding from input shapes, parameters as default inputs, input
// errors, and running a chain of ops.
#include <cmath>
#include <memory>

#include "OpsATestUtil.h"

namespace tessera::ir::opsa {
namespace {

std::string errorOf(const StatusOr<InterpretResult>& r) {
  return r.isOk() ? "" : r.status().message();
}

// f(%x: f32[B,S], %y: f32[S]) -> add(x, y)
struct AddFn : Builder {
  Value* x = arg(DType::F32, {sym("B"), sym("S")}, "x");
  Value* y = arg(DType::F32, {sym("S")}, "y");
  AddFn() {
    Op* op = must(OpKind::Add, {x, y});
    fn->setResults({op->result()});
  }
};

TEST(Interpreter, BindsSymbolsFromInputShapes) {
  AddFn b;
  auto r = interpret(*b.fn, std::map<std::string, Tensor>{
                                {"x", f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {"y", f32({3}, {10, 20, 30})}});
  ASSERT_TRUE(r.isOk()) << errorOf(r);
  EXPECT_EQ(r->symbols, (std::map<std::string, int64_t>{{"B", 2}, {"S", 3}}));
  ASSERT_EQ(r->outputs.size(), 1u);
  expectTensor(r->outputs[0], DType::F32, {2, 3}, {11, 22, 33, 14, 25, 36});
  // The same function runs for other symbol values.
  auto r2 = interpret(*b.fn, std::vector<Tensor>{f32({1, 1}, {1}), f32({1}, {2})});
  ASSERT_TRUE(r2.isOk()) << errorOf(r2);
  EXPECT_EQ(r2->symbols, (std::map<std::string, int64_t>{{"B", 1}, {"S", 1}}));
  expectTensor(r2->outputs[0], DType::F32, {1, 1}, {3});
}

TEST(Interpreter, ConflictingSymbolValues) {
  AddFn b;
  auto r = interpret(*b.fn, std::vector<Tensor>{f32({2, 3}, std::vector<double>(6, 0)),
                                                f32({4}, {0, 0, 0, 0})});
  EXPECT_EQ(errorOf(r), "error: symbol S is 3 from argument %x dim 1 but 4 from argument %y dim 0");
}

TEST(Interpreter, ErrorsCarryTheFunctionLocationWhenKnown) {
  AddFn b;
  b.fn->loc = Location{"model.tir", 12, 3};
  auto r = interpret(*b.fn, std::vector<Tensor>{f32({2, 3}, std::vector<double>(6, 0)),
                                                f32({4}, {0, 0, 0, 0})});
  EXPECT_EQ(errorOf(r),
            "model.tir:12:3: error: symbol S is 3 from argument %x dim 1 but 4 from argument %y "
            "dim 0");
}

TEST(Interpreter, WrongDTypeAndRank) {
  AddFn b;
  auto r = interpret(*b.fn, std::vector<Tensor>{f64({2, 3}, std::vector<double>(6, 0)),
                                                f32({3}, {0, 0, 0})});
  EXPECT_EQ(errorOf(r),
            "error: wrong element type for argument %x (argument %x is declared f32[B,S], the "
            "input is f64[2,3])");
  auto r2 = interpret(*b.fn, std::vector<Tensor>{f32({6}, std::vector<double>(6, 0)),
                                                 f32({3}, {0, 0, 0})});
  EXPECT_EQ(errorOf(r2),
            "error: wrong rank for argument %x (argument %x is declared f32[B,S], the input is "
            "f32[6])");
}

TEST(Interpreter, MissingAndUnknownInputs) {
  AddFn b;
  auto missing = interpret(*b.fn, std::map<std::string, Tensor>{{"x", f32({1, 1}, {1})}});
  EXPECT_EQ(errorOf(missing), "error: no input for argument %y of @f and no module parameter of "
                              "that name");
  auto unknown = interpret(*b.fn, std::map<std::string, Tensor>{{"x", f32({1, 1}, {1})},
                                                                {"y", f32({1}, {1})},
                                                                {"z", f32({1}, {1})}});
  EXPECT_EQ(errorOf(unknown), "error: unknown input 'z': function @f has no argument of that name");
  auto count = interpret(*b.fn, std::vector<Tensor>{f32({1, 1}, {1})});
  EXPECT_EQ(errorOf(count), "error: function @f takes 2 arguments, 1 were given");
}

TEST(Interpreter, DerivedDimsMustMatch) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S")}, "x");
  Value* z = b.arg(DType::F32, {sym("B") * sym("S") + Dim(1)}, "z");
  b.fn->setResults({x, z});
  auto ok = interpret(*b.fn, std::vector<Tensor>{f32({2, 3}, std::vector<double>(6, 1)),
                                                 f32({7}, std::vector<double>(7, 2))});
  ASSERT_TRUE(ok.isOk()) << errorOf(ok);
  expectTensor(ok->outputs[1], DType::F32, {7}, std::vector<double>(7, 2));
  auto bad = interpret(*b.fn, std::vector<Tensor>{f32({2, 3}, std::vector<double>(6, 1)),
                                                  f32({6}, std::vector<double>(6, 2))});
  EXPECT_EQ(errorOf(bad), "error: shape mismatch for argument %z: declared f32[B*S + 1] requires "
                          "dim 0 = 7, the input is f32[6]");
}

TEST(Interpreter, ConstantDimsMustMatch) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), 4}, "x");
  b.fn->setResults({x});
  auto bad = interpret(*b.fn, std::vector<Tensor>{f32({2, 3}, std::vector<double>(6, 1))});
  EXPECT_EQ(errorOf(bad), "error: shape mismatch for argument %x: declared f32[B,4] requires dim 1 "
                          "= 4, the input is f32[2,3]");
}

TEST(Interpreter, ConstantMultipleOfASymbolBindsIt) {
  // A partitioned program's argument f32[2*B] (or B/2) binds B from the input's size when no
  // argument names B alone; a size the multiple cannot produce is an error naming the argument.
  Builder b;
  Value* x = b.arg(DType::F32, {Dim(2) * sym("B")}, "x");
  b.fn->setResults({x});
  auto r = interpret(*b.fn, std::vector<Tensor>{f32({4}, {1, 2, 3, 4})});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->symbols.at("B"), 2);
  auto odd = interpret(*b.fn, std::vector<Tensor>{f32({3}, {1, 2, 3})});
  ASSERT_FALSE(odd.isOk());
  EXPECT_NE(errorOf(odd).find("%x"), std::string::npos) << errorOf(odd);
}

TEST(Interpreter, DivisibilityFactsAreChecked) {
  Builder b;
  b.module.symbols.push_back(SymbolDecl{"B", 2, {}});
  Value* x = b.arg(DType::F32, {sym("B")}, "x");
  b.fn->setResults({x});
  auto r = interpret(*b.fn, std::vector<Tensor>{f32({3}, {1, 2, 3})});
  EXPECT_EQ(errorOf(r),
            "error: symbol B = 3 (from argument %x dim 0) is not divisible by 2");
  EXPECT_TRUE(interpret(*b.fn, std::vector<Tensor>{f32({2}, {1, 2})}).isOk());
}

TEST(Interpreter, NonIntegerResultDimIsAnErrorAtTheOp) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B")}, "x");
  (void)x;
  Op* op = b.must(OpKind::Iota, {}, {{"dim", int64_t{0}}},
                  {TensorType{DType::I64, {sym("B").divide(2)}}});
  b.fn->setResults({op->result()});
  auto ok = interpret(*b.fn, std::vector<Tensor>{f32({4}, {0, 0, 0, 0})});
  ASSERT_TRUE(ok.isOk()) << errorOf(ok);
  expectTensor(ok->outputs[0], DType::I64, {2}, {0, 1});
  auto bad = interpret(*b.fn, std::vector<Tensor>{f32({3}, {0, 0, 0})});
  EXPECT_EQ(errorOf(bad), "test.tir:3:5: error: iota: result type i64[B/2]: dimension 'B/2' is "
                          "not an integer for these symbol values");
}

TEST(Interpreter, ParametersAreDefaultInputs) {
  AddFn b;
  b.module.params.push_back(
      Parameter{"y", TensorType{DType::F32, {3}}, {}, std::make_shared<const Tensor>(f32({3}, {1, 2, 3})), true, {}});
  auto r = interpret(*b.fn, std::map<std::string, Tensor>{{"x", f32({1, 3}, {10, 10, 10})}});
  ASSERT_TRUE(r.isOk()) << errorOf(r);
  expectTensor(r->outputs[0], DType::F32, {1, 3}, {11, 12, 13});
  EXPECT_EQ(r->symbols.at("S"), 3);
  // An input given by name wins over the parameter.
  auto given = interpret(*b.fn, std::map<std::string, Tensor>{{"x", f32({1, 3}, {10, 10, 10})},
                                                              {"y", f32({3}, {0, 0, 0})}});
  ASSERT_TRUE(given.isOk()) << errorOf(given);
  expectTensor(given->outputs[0], DType::F32, {1, 3}, {10, 10, 10});
  // Parameter values are checked like inputs.
  b.module.params[0].init = std::make_shared<const Tensor>(f64({3}, {1, 2, 3}));
  auto wrong = interpret(*b.fn, std::map<std::string, Tensor>{{"x", f32({1, 3}, {10, 10, 10})}});
  EXPECT_EQ(errorOf(wrong), "error: wrong element type for argument %y (argument %y is declared "
                            "f32[S], the input is f64[3])");
}

TEST(Interpreter, ParameterWithoutInitialValue) {
  AddFn b;
  b.module.params.push_back(Parameter{"y", TensorType{DType::F32, {3}}, {}, nullptr, true, {}});
  auto r = interpret(*b.fn, std::map<std::string, Tensor>{{"x", f32({1, 3}, {10, 10, 10})}});
  EXPECT_EQ(errorOf(r), "error: no input for argument %y of @f: parameter @y has no initial value");
}

TEST(Interpreter, RunsAChainAndKeepsValuesAliveUntilTheirLastUse) {
  // n = neg(x); s = add(n, n); p = mul(s, n); returns (p, n, x)
  Builder b;
  Value* x = b.arg(DType::F64, {sym("N")}, "x");
  Op* n = b.must(OpKind::Neg, {x});
  Op* s = b.must(OpKind::Add, {n->result(), n->result()});
  Op* p = b.must(OpKind::Mul, {s->result(), n->result()});
  Op* unused = b.must(OpKind::Exp, {x});
  (void)unused;
  b.fn->setResults({p->result(), n->result(), x});
  auto r = interpret(*b.fn, std::vector<Tensor>{f64({3}, {1, -2, 3})});
  ASSERT_TRUE(r.isOk()) << errorOf(r);
  ASSERT_EQ(r->outputs.size(), 3u);
  // p = 2 n * n = 2 x^2
  expectTensor(r->outputs[0], DType::F64, {3}, {2, 8, 18});
  expectTensor(r->outputs[1], DType::F64, {3}, {-1, 2, -3});
  expectTensor(r->outputs[2], DType::F64, {3}, {1, -2, 3});
}

TEST(Interpreter, OpErrorsStopTheRun) {
  Builder b;
  Value* x = b.arg(DType::I32, {2}, "x");
  Op* d = b.must(OpKind::Div, {x, x});
  b.fn->setResults({d->result()});
  auto r = interpret(*b.fn, std::vector<Tensor>{i32({2}, {0, 1})});
  EXPECT_EQ(errorOf(r), "test.tir:3:5: error: div: integer division by zero");
}

}  // namespace
}  // namespace tessera::ir::opsa
