// Verifier checks on declarations: meshes and sub-meshes, symbols and the exactness of divisions,
// parameters and their initial values, unique names. Each test breaks exactly one rule and
// checks the full message, location included.
#include <gtest/gtest.h>

#include <cstdint>

#include "ir/Verifier.h"
#include "tests/unit/proto/TestModules.h"

namespace tessera::ir {
namespace {

using testing::addOk;
using testing::ty;

const Location kDecl{"v.tir", 7, 3};
const Location kOp{"v.tir", 9, 5};

std::string verify(const Module& m) {
  Status st = verifyModule(m);
  return st.isOk() ? "ok" : st.message();
}
std::string at(const Location& l, const std::string& what) { return l.str() + ": error: " + what; }

Mesh mesh(std::string name, std::vector<MeshAxis> axes) {
  Mesh m = Mesh::make(std::move(name), std::move(axes));
  m.loc = kDecl;
  return m;
}

TEST(VerifierDecl, RichModulePasses) {
  auto m = testing::buildRichModule();
  EXPECT_EQ(verify(*m), "ok");
}

TEST(VerifierDecl, EmptyModulePasses) { EXPECT_EQ(verify(Module("e")), "ok"); }

// ---- meshes ----

TEST(VerifierDecl, MeshAxisTwice) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}, {"dp", 2}}));
  EXPECT_EQ(verify(m), at(kDecl, "mesh @m has axis 'dp' twice"));
}

TEST(VerifierDecl, MeshAxisSizeNotPositive) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}, {"tp", -3}}));
  EXPECT_EQ(verify(m), at(kDecl, "mesh @m axis 'tp' has size -3; sizes must be positive"));
}

TEST(VerifierDecl, MeshDeviceCountWrong) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}}));
  m.meshes[0].devices = {0, 1, 2};
  EXPECT_EQ(verify(m), at(kDecl, "mesh @m lists 3 devices but its axes make 2"));
}

TEST(VerifierDecl, MeshDeviceListedTwice) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}}));
  m.meshes[0].devices = {1, 1};
  EXPECT_EQ(verify(m), at(kDecl, "mesh @m lists device 1 twice"));
}

TEST(VerifierDecl, MeshWithHugeAxesDoesNotOverflow) {
  Module m;
  Mesh big;
  big.name = "m";
  big.loc = kDecl;
  big.axes = {{"dp", int64_t{1} << 40}, {"tp", int64_t{1} << 40}};  // 2^80 devices
  big.devices = {0};
  m.meshes.push_back(big);
  EXPECT_EQ(verify(m), at(kDecl, "mesh @m has more devices than fit in 64 bits"));
}

TEST(VerifierDecl, MeshDeclaredTwice) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}}));
  m.meshes.push_back(mesh("m", {{"tp", 2}}));
  m.meshes[1].loc = {"v.tir", 8, 3};
  EXPECT_EQ(verify(m), at({"v.tir", 8, 3}, "mesh @m is declared twice"));
}

Mesh stage(const Mesh& parent, std::vector<std::pair<std::string, int64_t>> fixed) {
  auto s = Mesh::subMesh("s", parent, std::move(fixed));
  EXPECT_TRUE(s.isOk()) << s.status().message();
  s->loc = {"v.tir", 8, 3};
  return *s;
}

TEST(VerifierDecl, SubMeshOfReorderedParentPasses) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}, {"pp", 2}}));
  m.meshes[0].devices = {3, 1, 2, 0};
  m.meshes.push_back(stage(m.meshes[0], {{"pp", 1}}));
  EXPECT_EQ(m.meshes[1].devices, (std::vector<int64_t>{1, 0}));  // coordinates (0,1), (1,1)
  EXPECT_EQ(verify(m), "ok");
}

TEST(VerifierDecl, SubMeshParentMissing) {
  Module m;
  Mesh parent = mesh("ghost", {{"dp", 2}, {"pp", 2}});
  m.meshes.push_back(stage(parent, {{"pp", 0}}));
  EXPECT_EQ(verify(m), at({"v.tir", 8, 3}, "sub-mesh @s names parent @ghost, which is not declared"));
}

TEST(VerifierDecl, SubMeshParentDeclaredAfterIt) {
  Module m;
  Mesh parent = mesh("m", {{"dp", 2}, {"pp", 2}});
  m.meshes.push_back(stage(parent, {{"pp", 0}}));
  m.meshes.push_back(parent);
  EXPECT_EQ(verify(m),
            at({"v.tir", 8, 3}, "sub-mesh @s names parent @m, which is declared after it"));
}

TEST(VerifierDecl, SubMeshAxesDifferFromSlice) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}, {"pp", 2}}));
  m.meshes.push_back(stage(m.meshes[0], {{"pp", 0}}));
  m.meshes[1].axes[0].name = "tp";
  EXPECT_EQ(verify(m), at({"v.tir", 8, 3},
                          "sub-mesh @s has axes that differ from the slice of @m it names"));
}

TEST(VerifierDecl, SubMeshDevicesDifferFromSlice) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}, {"pp", 2}}));
  m.meshes.push_back(stage(m.meshes[0], {{"pp", 0}}));
  // The slice pp=0 of the identity order is devices {0, 2}; {2, 0} is a different order.
  m.meshes[1].devices = {2, 0};
  EXPECT_EQ(verify(m), at({"v.tir", 8, 3},
                          "sub-mesh @s lists devices that differ from the slice of @m it names"));
}

TEST(VerifierDecl, SubMeshFixedIndexOutOfRange) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}, {"pp", 2}}));
  Mesh s = mesh("s", {{"dp", 2}});
  s.parent = "m";
  s.fixed = {{"pp", 5}};
  m.meshes.push_back(s);
  EXPECT_EQ(verify(m), at(kDecl, "sub-mesh @s: index 5 is out of range for axis 'pp' of size 2"));
}

TEST(VerifierDecl, FixedAxesWithoutParent) {
  Module m;
  Mesh s = mesh("s", {{"dp", 2}});
  s.fixed = {{"pp", 0}};
  m.meshes.push_back(s);
  EXPECT_EQ(verify(m), at(kDecl, "mesh @s fixes axes but has no parent"));
}

// ---- symbols ----

TEST(VerifierDecl, SymbolDeclaredTwice) {
  Module m;
  m.symbols.push_back({"B", 2, {}});
  m.symbols.push_back({"B", 4, kDecl});
  EXPECT_EQ(verify(m), at(kDecl, "symbol B is declared twice"));
}

TEST(VerifierDecl, DivisibilityBelowOne) {
  Module m;
  m.symbols.push_back({"B", 0, kDecl});
  EXPECT_EQ(verify(m), at(kDecl, "symbol B has divisible_by 0; it must be at least 1"));
}

// A module with one function @f whose only argument has type `t`.
std::unique_ptr<Module> withArgument(TensorType t, std::vector<SymbolDecl> symbols) {
  auto m = std::make_unique<Module>("m");
  m->symbols = std::move(symbols);
  Function* f = m->addFunction("f");
  f->loc = kDecl;
  f->addArgument(std::move(t), "x");
  return m;
}

const Dim B = Dim::symbol("B"), S = Dim::symbol("S");

TEST(VerifierDecl, UndeclaredSymbolInArgument) {
  auto m = withArgument(ty(DType::F32, {Dim::symbol("N"), Dim(4)}), {});
  EXPECT_EQ(verify(*m), at(kDecl, "@f argument 0 has type f32[N,4] which uses undeclared symbol N"));
}

TEST(VerifierDecl, UndeclaredSymbolInParameter) {
  Module m;
  m.symbols.push_back({"B", 1, {}});
  Parameter p;
  p.name = "w";
  p.loc = kDecl;
  p.type = ty(DType::F32, {B * Dim::symbol("H")});
  m.params.push_back(p);
  EXPECT_EQ(verify(m), at(kDecl, "parameter w has type f32[B*H] which uses undeclared symbol H"));
}

TEST(VerifierDecl, UndeclaredSymbolInOpResult) {
  Module m;
  Function* f = m.addFunction("f");
  Op* full = addOk(f, {OpKind::Full, {}, {{"value", 1.0}}, {ty(DType::F32, {Dim::symbol("N")})},
                       kOp});
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(verify(m), at(kOp, "full result 0 has type f32[N] which uses undeclared symbol N"));
}

TEST(VerifierDecl, InexactDivisionOfSymbol) {
  auto m = withArgument(ty(DType::F32, {B.divide(4)}), {{"B", 2, {}}});
  EXPECT_EQ(verify(*m), at(kDecl, "@f argument 0 has type f32[B/4] whose dimension 'B/4' may not "
                                  "be an integer: it divides B by 4, but the symbols are only "
                                  "declared B divisible_by 2"));
}

TEST(VerifierDecl, InexactDivisionOfAProduct) {
  auto m = withArgument(ty(DType::F32, {Dim(4), Dim(3) * B * S.divide(8)}),
                        {{"B", 2, {}}, {"S", 2, {}}});
  EXPECT_EQ(verify(*m), at(kDecl, "@f argument 0 has type f32[4,3*B*S/8] whose dimension "
                                  "'3*B*S/8' may not be an integer: it divides 3*B*S by 8, but "
                                  "the symbols are only declared B divisible_by 2, S divisible_by 2"));
}

TEST(VerifierDecl, NonIntegerConstantDim) {
  auto m = withArgument(ty(DType::F32, {Dim(3).divide(2)}), {});
  EXPECT_EQ(verify(*m), at(kDecl, "@f argument 0 has type f32[3/2] whose dimension '3/2' is not "
                                  "an integer"));
}

TEST(VerifierDecl, ExactDivisionsPass) {
  // Each is whole for every allowed value: B = 4k; B*S = 4kl with S = 2l...
  EXPECT_EQ(verify(*withArgument(ty(DType::F32, {B.divide(4)}), {{"B", 4, {}}})), "ok");
  EXPECT_EQ(verify(*withArgument(ty(DType::F32, {B.divide(2)}), {{"B", 8, {}}})), "ok");
  EXPECT_EQ(verify(*withArgument(ty(DType::F32, {(B * S).divide(4)}),
                                 {{"B", 2, {}}, {"S", 2, {}}})),
            "ok");
  EXPECT_EQ(verify(*withArgument(ty(DType::F32, {(B * B).divide(4)}), {{"B", 2, {}}})), "ok");
  // 6*B/4 is stored reduced as 3*B/2.
  EXPECT_EQ(verify(*withArgument(ty(DType::F32, {(Dim(6) * B).divide(4)}), {{"B", 2, {}}})),
            "ok");
  EXPECT_EQ(verify(*withArgument(ty(DType::F32, {B.divide(2) + Dim(1)}), {{"B", 2, {}}})), "ok");
}

TEST(VerifierDecl, InexactDivisionMadeByAShapeRule) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}}));
  m.symbols.push_back({"B", 1, {}});
  Function* f = m.addFunction("f");
  Value* x = f->addArgument(ty(DType::F32, {B, Dim(4)}), "x");
  Op* rs = addOk(f, {OpKind::ReduceScatter, {x}, {{"axes", AxisList{{"dp"}}}, {"dim", int64_t{0}}},
                     {}, kOp});
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ(verify(m), at(kOp, "reduce_scatter result 0 has type f32[B/2,4] whose dimension 'B/2' "
                               "may not be an integer: it divides B by 2, but the symbols are "
                               "only declared B divisible_by 1"));
  m.symbols[0].divisibleBy = 6;
  EXPECT_EQ(verify(m), "ok");
}

// ---- parameters ----

TEST(VerifierDecl, ParameterDeclaredTwice) {
  Module m;
  m.params.push_back(testing::param("w", DType::F32, {1}, {0}));
  m.params.push_back(testing::param("w", DType::F32, {1}, {0}));
  m.params[1].loc = kDecl;
  EXPECT_EQ(verify(m), at(kDecl, "parameter w is declared twice"));
}

TEST(VerifierDecl, ParameterInitDTypeMismatch) {
  Module m;
  m.params.push_back(testing::param("w", DType::I32, {2}, {1, 2}));
  m.params[0].type.dtype = DType::F32;
  m.params[0].loc = kDecl;
  EXPECT_EQ(verify(m), at(kDecl, "parameter w has type f32[2] but its initial value is i32"));
}

TEST(VerifierDecl, ParameterInitShapeMismatch) {
  Module m;
  m.params.push_back(testing::param("w", DType::F32, {3, 2}, {1, 2, 3, 4, 5, 6}));
  m.params[0].type.shape = {Dim(2), Dim(3)};
  m.params[0].loc = kDecl;
  EXPECT_EQ(verify(m), at(kDecl, "parameter w has type f32[2,3] but its initial value has shape "
                                 "[3,2]"));
}

TEST(VerifierDecl, ParameterInitNeedsAConstantShape) {
  Module m;
  m.symbols.push_back({"B", 1, {}});
  m.params.push_back(testing::param("w", DType::F32, {4}, {1, 2, 3, 4}));
  m.params[0].type.shape = {B};
  m.params[0].loc = kDecl;
  EXPECT_EQ(verify(m), at(kDecl, "parameter w has type f32[B] but its initial value has shape [4]"));
}

TEST(VerifierDecl, ParameterShardingIsChecked) {
  Module m;
  m.meshes.push_back(mesh("m", {{"dp", 2}}));
  m.params.push_back(testing::param("w", DType::F32, {2, 2}, {1, 2, 3, 4}));
  m.params[0].loc = kDecl;
  m.params[0].sharding = testing::shard("", {testing::axes({"dp"})});
  EXPECT_EQ(verify(m), at(kDecl, "sharding {dp} has 1 dimensions but the value has rank 2"));
  m.params[0].sharding->dims.push_back(testing::axes({}));
  EXPECT_EQ(verify(m), "ok");
}

// ---- functions ----

TEST(VerifierDecl, FunctionDeclaredTwice) {
  Module m;
  m.addFunction("f");
  m.addFunction("f")->loc = kDecl;
  EXPECT_EQ(verify(m), at(kDecl, "function @f is declared twice"));
}

}  // namespace
}  // namespace tessera::ir
