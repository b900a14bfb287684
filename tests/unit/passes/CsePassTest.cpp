// CSE: equal pure ops merge into the first; anything that differs, or has a side effect, stays.
#include <gtest/gtest.h>

#include "passes/CsePass.h"
#include "PassTestUtil.h"

namespace tessera::passes {
namespace {

using namespace testing;
using ir::OpKind;

StatusOr<bool> runCse(ir::Module& m) { return CsePass().run(m); }

TEST(CsePass, MergesIntoFirstOccurrenceAndRedirectsAllUses) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* y = f->addArgument(f32({4}), "y");
  ir::Value* s1 = add(f, OpKind::Add, {x, y}, {}, {}, /*line=*/10);
  ir::Value* s2 = add(f, OpKind::Add, {x, y}, {}, {}, /*line=*/11);
  ir::Value* p = add(f, OpKind::Mul, {s2, s1});
  f->setResults({s2, p});

  auto changed = runCse(m);
  ASSERT_TRUE(changed.isOk()) << changed.status().message();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(opList(*f), "add mul");
  EXPECT_EQ(f->ops()[0]->loc().line, 10) << "the first occurrence is the one kept";
  EXPECT_EQ(f->results()[0], s1) << "the return was redirected";
  ir::Op* mul = p->definingOp();
  EXPECT_EQ(mul->operand(0), s1);
  EXPECT_EQ(mul->operand(1), s1);
  EXPECT_EQ(s1->uses().size(), 3u);  // two mul operands and one return

  auto again = runCse(m);
  ASSERT_TRUE(again.isOk());
  EXPECT_FALSE(*again);
}

TEST(CsePass, MergingCascadesToUsers) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* a1 = add(f, OpKind::Neg, {x});
  ir::Value* a2 = add(f, OpKind::Neg, {x});
  ir::Value* b1 = add(f, OpKind::Exp, {a1});
  ir::Value* b2 = add(f, OpKind::Exp, {a2});  // equal to b1 only once a2 became a1
  f->setResults({b1, b2});
  auto changed = runCse(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(opList(*f), "neg exp");
  EXPECT_EQ(f->results()[0], b1);
  EXPECT_EQ(f->results()[1], b1);
}

TEST(CsePass, KeepsOpsThatDiffer) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({2, 2}), "x");
  ir::Value* y = f->addArgument(f32({2, 2}), "y");
  std::vector<ir::Value*> keep = {
      add(f, OpKind::Sub, {x, y}),
      add(f, OpKind::Sub, {y, x}),  // operand order
      add(f, OpKind::Add, {x, y}),  // kind
      add(f, OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{0}}}),
      add(f, OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{1}}}),  // attribute value
      add(f, OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", true}}),
      add(f, OpKind::Reshape, {x}, {}, {f32({4})}),
      add(f, OpKind::Reshape, {x}, {}, {f32({4, 1})}),  // result type
      add(f, OpKind::Full, {}, {{"value", 0.0}}, {f32({2})}),
      add(f, OpKind::Full, {}, {{"value", -0.0}}, {f32({2})}),  // equal as doubles, not as bits
  };
  f->setResults(keep);
  auto changed = runCse(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(f->numOps(), static_cast<int>(keep.size()));
}

TEST(CsePass, MergesEqualAttributesAndTensorConstants) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  auto c = [] {
    return ir::TensorAttr{std::make_shared<const ir::Tensor>(
        ir::DType::F32, std::vector<int64_t>{2}, std::vector<double>{1.5, -2})};
  };
  ir::Value* c1 = add(f, OpKind::Constant, {}, {{"value", c()}});
  ir::Value* c2 = add(f, OpKind::Constant, {}, {{"value", c()}});  // a distinct but equal tensor
  ir::Value* f1 = add(f, OpKind::Full, {}, {{"value", 3.0}}, {f32({2})});
  ir::Value* f2 = add(f, OpKind::Full, {}, {{"value", 3.0}}, {f32({2})});
  f->setResults({c1, c2, f1, f2});
  auto changed = runCse(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(opList(*f), "constant full");
  EXPECT_EQ(f->results()[1], c1);
  EXPECT_EQ(f->results()[3], f1);
}

TEST(CsePass, NeverMergesCollectives) {
  ir::Module m("t");
  m.meshes.push_back(ir::Mesh::make("m", {{"dp", 2}}));
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* r1 = add(f, OpKind::AllReduce, {x}, {{"axes", ir::AxisList{{"dp"}}}});
  ir::Value* r2 = add(f, OpKind::AllReduce, {x}, {{"axes", ir::AxisList{{"dp"}}}});
  f->setResults({r1, r2});
  auto changed = runCse(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(opList(*f), "all_reduce all_reduce");
}

TEST(CsePass, KeepsOpsWhoseResultShardingsDiffer) {
  ir::Module m("t");
  m.meshes.push_back(ir::Mesh::make("m", {{"dp", 2}}));
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* a = add(f, OpKind::Neg, {x});
  ir::Value* b = add(f, OpKind::Neg, {x});
  ir::Sharding s;
  s.dims = {ir::DimSharding{{"dp"}, false, std::nullopt}};
  b->setSharding(s);
  f->setResults({a, b});
  auto changed = runCse(m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
}

TEST(CsePass, RejectsFunctionsOutOfSsaOrder) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* a = add(f, OpKind::Neg, {x});
  // An op using `a`, inserted before a's definition.
  ir::OpSpec spec{OpKind::Exp, {a}, {}, {}, Location{"t.tir", 3, 7}};
  auto early = f->addOp(std::move(spec), 0);
  ASSERT_TRUE(early.isOk()) << early.status().message();
  f->setResults({(*early)->result(0)});
  auto changed = runCse(m);
  ASSERT_FALSE(changed.isOk());
  EXPECT_NE(changed.status().message().find("t.tir:3:7: error: cse: operand 0 of 'exp'"),
            std::string::npos)
      << changed.status().message();
}

}  // namespace
}  // namespace tessera::passes
