// Verifier checks inside functions: SSA order, result types against the shape rules, required
// attributes, shardings against the right mesh, unique value names and the return. Invalid IR is
// made by building a valid function with addOp and then mutating it; each test breaks exactly
// one rule and checks the full message, located at the op or the declaration.
#include <gtest/gtest.h>

#include "ir/Verifier.h"
#include "tests/unit/proto/TestModules.h"

namespace tessera::ir {
namespace {

using testing::addOk;
using testing::axes;
using testing::shard;
using testing::ty;

const Location kFunc{"v.tir", 3, 1};
const Location kOp1{"v.tir", 4, 5};
const Location kOp2{"v.tir", 5, 5};
const Location kRet{"v.tir", 6, 5};

std::string verify(const Module& m) {
  Status st = verifyModule(m);
  return st.isOk() ? "ok" : st.message();
}
std::string at(const Location& l, const std::string& what) { return l.str() + ": error: " + what; }

// mesh @m = <dp=2, tp=2>
// func @f(%x: f32[4,6]) { %a = neg %x; %b = neg %a; return %b }
struct Fixture {
  Module m{"t"};
  Function* f = nullptr;
  Value* x = nullptr;
  Op* a = nullptr;
  Op* b = nullptr;

  Fixture() {
    m.meshes.push_back(Mesh::make("m", {{"dp", 2}, {"tp", 2}}));
    f = m.addFunction("f");
    f->loc = kFunc;
    f->returnLoc = kRet;
    x = f->addArgument(ty(DType::F32, {Dim(4), Dim(6)}), "x");
    a = addOk(f, {OpKind::Neg, {x}, {}, {}, kOp1});
    b = addOk(f, {OpKind::Neg, {a->result()}, {}, {}, kOp2});
    a->result()->setName("a");
    b->result()->setName("b");
    f->setResults({b->result()});
  }
};

TEST(VerifierFunction, FixturePasses) {
  Fixture t;
  ASSERT_TRUE(t.a && t.b);
  EXPECT_EQ(verify(t.m), "ok");
}

// ---- SSA order ----

TEST(VerifierFunction, OperandDefinedByALaterOp) {
  Fixture t;
  t.a->setOperand(0, t.b->result());
  EXPECT_EQ(verify(t.m), at(kOp1, "neg: operand 0 (%b) is used before it is defined"));
}

TEST(VerifierFunction, OperandIsTheOpsOwnResult) {
  Fixture t;
  t.b->setOperand(0, t.b->result());
  EXPECT_EQ(verify(t.m), at(kOp2, "neg: operand 0 (%b) is used before it is defined"));
}

TEST(VerifierFunction, OperandFromAnotherFunction) {
  Fixture t;
  Function* g = t.m.addFunction("g");
  Value* y = g->addArgument(ty(DType::F32, {Dim(4), Dim(6)}), "y");
  t.a->setOperand(0, y);
  EXPECT_EQ(verify(t.m), at(kOp1, "neg: operand 0 is a value of another function (@g)"));
}

TEST(VerifierFunction, NullOperand) {
  Fixture t;
  t.b->setOperand(0, nullptr);
  EXPECT_EQ(verify(t.m), at(kOp2, "neg: operand 0 is null"));
}

// ---- types and attributes ----

TEST(VerifierFunction, ResultTypeDiffersFromShapeRule) {
  Fixture t;
  t.a->result()->setType(ty(DType::F32, {Dim(4), Dim(7)}));
  EXPECT_EQ(verify(t.m), at(kOp1, "neg: result 0 is declared f32[4,7] but the op produces f32[4,6]"));
}

TEST(VerifierFunction, OperandTypeChangedUnderneathAnOp) {
  // Changing an argument's type makes the ops using it stale; the first user is reported.
  Fixture t;
  t.x->setType(ty(DType::F64, {Dim(4), Dim(6)}));
  EXPECT_EQ(verify(t.m), at(kOp1, "neg: result 0 is declared f32[4,6] but the op produces f64[4,6]"));
}

TEST(VerifierFunction, MissingRequiredAttribute) {
  Fixture t;
  Op* cmp = addOk(t.f, {OpKind::Compare, {t.x, t.a->result()},
                        {{"dir", makeEnum(kCompareDirEnum, CompareDir::Lt)}}, {}, kOp2});
  ASSERT_NE(cmp, nullptr);
  EXPECT_EQ(verify(t.m), "ok");
  cmp->clearAttr("dir");
  EXPECT_EQ(verify(t.m), at(kOp2, "compare: missing required attribute 'dir'"));
}

// ---- shardings ----

TEST(VerifierFunction, ShardingWithUnknownAxis) {
  Fixture t;
  t.a->result()->setSharding(shard("", {axes({"zz"}), axes({})}));
  EXPECT_EQ(verify(t.m), at(kOp1, "sharding {zz, -} names axis 'zz' which mesh @m does not have"));
}

TEST(VerifierFunction, ShardingOfWrongRank) {
  Fixture t;
  t.x->setSharding(shard("", {axes({"dp"})}));
  EXPECT_EQ(verify(t.m), at(kFunc, "sharding {dp} has 1 dimensions but the value has rank 2"));
}

TEST(VerifierFunction, ShardingUsesAnAxisTwice) {
  Fixture t;
  t.b->result()->setSharding(shard("", {axes({"dp"}), axes({})}, {{"dp", PartialKind::Sum}}));
  EXPECT_EQ(verify(t.m), at(kOp2, "sharding {dp, -} partial{dp:sum} uses axis 'dp' more than once"));
}

TEST(VerifierFunction, ShardingOverUnknownMesh) {
  Fixture t;
  t.a->result()->setSharding(shard("nope", {axes({}), axes({})}));
  EXPECT_EQ(verify(t.m), at(kOp1, "neg result 0 is sharded over unknown mesh @nope"));
}

TEST(VerifierFunction, UnnamedMeshNeedsExactlyOneMesh) {
  Fixture t;
  t.x->setSharding(shard("", {axes({"dp"}), axes({})}));
  EXPECT_EQ(verify(t.m), "ok");
  t.m.meshes.push_back(Mesh::make("n", {{"dp", 4}}));
  EXPECT_EQ(verify(t.m),
            at(kFunc, "@f argument 0 is sharded but names no mesh, and the module has 2"));
  t.m.meshes.clear();
  EXPECT_EQ(verify(t.m),
            at(kFunc, "@f argument 0 is sharded but names no mesh, and the module has none"));
}

TEST(VerifierFunction, NamedMeshIsTheOneChecked) {
  Fixture t;
  t.m.meshes.push_back(Mesh::make("n", {{"pp", 4}}));
  t.a->result()->setSharding(shard("n", {axes({"pp"}), axes({})}));
  EXPECT_EQ(verify(t.m), "ok");
  t.a->result()->setSharding(shard("m", {axes({"pp"}), axes({})}));
  EXPECT_EQ(verify(t.m), at(kOp1, "sharding @m{pp, -} names axis 'pp' which mesh @m does not have"));
}

// ---- names and the return ----

TEST(VerifierFunction, ValueNameDefinedTwice) {
  Fixture t;
  t.b->result()->setName("a");
  EXPECT_EQ(verify(t.m), at(kOp2, "@f: value name %a is defined twice"));
}

TEST(VerifierFunction, ArgumentNamesClash) {
  Fixture t;
  t.f->addArgument(ty(DType::F32, {}), "x");
  EXPECT_EQ(verify(t.m), at(kFunc, "@f: value name %x is defined twice"));
}

TEST(VerifierFunction, SameNameInTwoFunctionsAndUnnamedValuesAreFine) {
  Fixture t;
  Function* g = t.m.addFunction("g");
  g->addArgument(ty(DType::F32, {}), "x");
  g->addArgument(ty(DType::F32, {}));
  g->addArgument(ty(DType::F32, {}));
  EXPECT_EQ(verify(t.m), "ok");
}

TEST(VerifierFunction, NullResult) {
  Fixture t;
  t.f->setResults({t.b->result(), nullptr});
  EXPECT_EQ(verify(t.m), at(kRet, "@f result 1 is null"));
}

TEST(VerifierFunction, ResultFromAnotherFunction) {
  Fixture t;
  Function* g = t.m.addFunction("g");
  Value* y = g->addArgument(ty(DType::F32, {}), "y");
  t.f->setResults({y});
  EXPECT_EQ(verify(t.m), at(kRet, "@f result 0 is not a value of @f"));
}

TEST(VerifierFunction, ShapeRuleErrorsSurfaceAtTheOp) {
  // An all_reduce over an axis the mesh lost after the op was built.
  Fixture t;
  Op* ar = addOk(t.f, {OpKind::AllReduce, {t.b->result()}, {{"axes", AxisList{{"tp"}}}}, {}, kOp2});
  ASSERT_NE(ar, nullptr);
  EXPECT_EQ(verify(t.m), "ok");
  t.m.meshes[0] = Mesh::make("m", {{"dp", 4}});
  EXPECT_EQ(verify(t.m), at(kOp2, "all_reduce: mesh @m has no axis 'tp'"));
}

}  // namespace
}  // namespace tessera::ir
