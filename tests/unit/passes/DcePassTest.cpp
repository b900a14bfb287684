// DCE: dead chains go, results in use and side-effecting ops stay, the fixed point is reached.
#include <gtest/gtest.h>

#include "passes/DcePass.h"
#include "PassTestUtil.h"

namespace tessera::passes {
namespace {

using namespace testing;
using ir::OpKind;

TEST(DcePass, RemovesDeadChainAndKeepsReturnedValues) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* a = add(f, OpKind::Neg, {x});
  ir::Value* b = add(f, OpKind::Exp, {x});  // dead
  add(f, OpKind::Abs, {b});                 // dead, and its removal makes `b` dead
  ir::Value* c = add(f, OpKind::Add, {a, x});
  f->setResults({c});

  DcePass dce;
  auto changed = dce.run(m);
  ASSERT_TRUE(changed.isOk()) << changed.status().message();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(opList(*f), "neg add");
  EXPECT_EQ(f->results()[0], c);

  auto again = dce.run(m);
  ASSERT_TRUE(again.isOk());
  EXPECT_FALSE(*again) << "a second run must find nothing to remove";
  EXPECT_EQ(opList(*f), "neg add");
}

TEST(DcePass, RemovesEverythingWhenNothingIsReturned) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({2, 3}), "x");
  ir::Value* t = add(f, OpKind::Tanh, {x});
  ir::Value* s = add(f, OpKind::Mul, {t, t});
  add(f, OpKind::ReduceSum, {s}, {{"axes", std::vector<int64_t>{0, 1}}});
  auto changed = DcePass().run(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(f->numOps(), 0);
  EXPECT_EQ(f->numArguments(), 1) << "arguments are never removed";
}

TEST(DcePass, KeepsCollectivesAndSideEffectsEvenWhenUnused) {
  ir::Module m("t");
  m.meshes.push_back(ir::Mesh::make("m", {{"dp", 2}}));
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* n = add(f, OpKind::Neg, {x});
  // all_reduce result unused: kept, and so is its operand's producer.
  add(f, OpKind::AllReduce, {n}, {{"axes", ir::AxisList{{"dp"}}}});
  // send has no results at all.
  add(f, OpKind::Send, {x}, {{"axes", ir::AxisList{{"dp"}}}, {"peer", int64_t{1}}});
  add(f, OpKind::Exp, {x});  // the only dead op
  f->setResults({x});
  auto changed = DcePass().run(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(opList(*f), "neg all_reduce send");
}

TEST(DcePass, KeepsMultiResultOpWhenOneResultIsUsed) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({3, 5}), "x");
  ir::Value* values = add(f, OpKind::TopK, {x}, {{"k", int64_t{2}}});
  ASSERT_NE(values, nullptr);
  ir::Op* topk = values->definingOp();
  f->setResults({topk->result(1)});  // only the indices are used
  auto changed = DcePass().run(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(opList(*f), "top_k");
}

TEST(DcePass, WorksOnEveryFunction) {
  ir::Module m("t");
  for (const char* name : {"f", "g"}) {
    ir::Function* f = m.addFunction(name);
    ir::Value* x = f->addArgument(f32({4}), "x");
    add(f, OpKind::Neg, {x});
    f->setResults({x});
  }
  auto changed = DcePass().run(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(m.functions()[0]->numOps(), 0);
  EXPECT_EQ(m.functions()[1]->numOps(), 0);
}

}  // namespace
}  // namespace tessera::passes
