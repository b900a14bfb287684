// Modules for the protobuf and verifier tests, built through the C++ API (not the text parser,
// so these tests do not depend on it), and a structural comparison of two modules written here
// independently of the printer and the serializer.
//
// The rich module is meant to hold one of everything the binary form must carry: every attribute
// kind, several meshes including a sub-mesh with a non-default device order, symbols with
// divisibility facts, parameters of every dtype with initial values, and shardings with
// priorities, open dimensions, partial axes and explicit mesh names. It is also valid, so the
// verifier tests use it as their "passes" case.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::ir::testing {

inline Op* addOk(Function* f, OpSpec spec) {
  auto op = f->addOp(std::move(spec));
  EXPECT_TRUE(op.isOk()) << op.status().message();
  return op.isOk() ? *op : nullptr;
}

inline TensorType ty(DType t, Shape s) { return TensorType{t, std::move(s)}; }

inline Sharding shard(std::string mesh, std::vector<DimSharding> dims,
                      std::vector<std::pair<std::string, PartialKind>> partial = {}) {
  Sharding s;
  s.mesh = std::move(mesh);
  s.dims = std::move(dims);
  s.partial = std::move(partial);
  return s;
}

inline DimSharding axes(std::vector<std::string> a, std::optional<int> priority = {}) {
  return DimSharding{std::move(a), false, priority};
}
inline DimSharding openDim() { return DimSharding{{}, true, std::nullopt}; }

inline Parameter param(std::string name, DType dt, std::vector<int64_t> shape,
                       std::vector<double> values) {
  Parameter p;
  p.name = std::move(name);
  p.type.dtype = dt;
  for (int64_t d : shape) p.type.shape.push_back(Dim(d));
  p.init = std::make_shared<const Tensor>(dt, std::move(shape), std::move(values));
  return p;
}

inline std::unique_ptr<Module> buildRichModule() {
  auto m = std::make_unique<Module>("rich");
  Mesh mesh = Mesh::make("m", {{"dp", 2}, {"tp", 2}, {"pp", 2}});
  mesh.devices = {7, 6, 5, 4, 3, 2, 1, 0};  // reversed: a non-default order must survive
  mesh.loc = {"rich.tir", 2, 3};
  m->meshes.push_back(mesh);
  auto stage = Mesh::subMesh("stage0", mesh, {{"pp", 0}});
  EXPECT_TRUE(stage.isOk());
  stage->loc = {"rich.tir", 3, 3};
  m->meshes.push_back(*stage);

  m->symbols.push_back({"B", 4, {"rich.tir", 4, 3}});
  m->symbols.push_back({"S", 1, {}});

  const Dim B = Dim::symbol("B"), S = Dim::symbol("S");
  m->params.push_back(param("w_f32", DType::F32, {2, 3}, {1.0, -2.5, 0.1, 3e10, -0.0, 7}));
  m->params.back().sharding = shard("m", {axes({"dp"}, 1), axes({})}, {{"tp", PartialKind::Sum}});
  m->params.back().loc = {"rich.tir", 5, 3};
  m->params.push_back(param("w_f64", DType::F64, {3}, {0.1, -1e300, 5e-324}));
  m->params.push_back(param("w_bf16", DType::BF16, {2}, {1.5, -3.140625}));
  m->params.back().trainable = false;
  m->params.push_back(param("w_f16", DType::F16, {2, 1}, {1.5, 65504}));
  m->params.push_back(param("w_i32", DType::I32, {3}, {-2, 2147483647, 0}));
  m->params.push_back(param("w_i64", DType::I64, {2}, {-1099511627776.0, 42}));
  m->params.push_back(param("w_bool", DType::Bool, {4}, {1, 0, 0, 1}));
  m->params.push_back(param("w_scalar", DType::F32, {}, {0.25}));
  m->params.push_back(param("w_empty", DType::F32, {0, 5}, {}));
  Parameter noInit;  // symbolic type, no initial value
  noInit.name = "w_sym";
  noInit.type = ty(DType::F32, {B * S, Dim(3) * B.divide(4) + Dim(1)});
  noInit.sharding = shard("stage0", {openDim(), axes({"dp"})}, {{"tp", PartialKind::Max}});
  m->params.push_back(std::move(noInit));

  Function* f = m->addFunction("step");
  f->loc = {"rich.tir", 10, 1};
  f->returnLoc = {"rich.tir", 30, 5};
  Value* x = f->addArgument(ty(DType::F32, {B, Dim(8)}), "x",
                            shard("m", {axes({"dp", "tp"}, 0), openDim()}));
  Value* idx = f->addArgument(ty(DType::I32, {B}), "idx");
  Value* unnamed = f->addArgument(ty(DType::F32, {Dim(2), Dim(8)}));
  (void)idx;

  auto loc = [](int line) { return Location{"rich.tir", line, 5}; };
  // Enum attribute.
  Op* g = addOk(f, {OpKind::Gelu, {x}, {{"approximate", makeEnum(kGeluApproxEnum, GeluApprox::Tanh)}},
                    {}, loc(11)});
  g->result()->setName("g");
  g->result()->setSharding(shard("m", {axes({"dp"}), axes({})}));
  // Enum attribute of another EnumDef.
  Op* cmp = addOk(f, {OpKind::Compare, {x, g->result()},
                      {{"dir", makeEnum(kCompareDirEnum, CompareDir::Ge)}}, {}, loc(12)});
  // DType attribute.
  Op* cast = addOk(f, {OpKind::Cast, {x}, {{"dtype", DType::F16}}, {}, loc(13)});
  // Tensor attribute (bf16 values, so the element encoding of attributes is exercised too).
  auto cval = std::make_shared<const Tensor>(DType::BF16, std::vector<int64_t>{2, 2},
                                             std::vector<double>{1, -2, 0.5, 3.5});
  Op* c = addOk(f, {OpKind::Constant, {}, {{"value", TensorAttr{cval}}}, {}, loc(14)});
  // Float attribute and a declared type.
  Op* full = addOk(f, {OpKind::Full, {}, {{"value", 2.5}}, {ty(DType::F32, {B, Dim(8)})}, {}});
  // Int, Enum and two Float attributes.
  addOk(f, {OpKind::Random, {},
            {{"seed", int64_t{1234}}, {"dist", makeEnum(kRandomDistEnum, RandomDist::Normal)},
             {"a", -1.0}, {"b", 0.5}},
            {ty(DType::F32, {Dim(4)})}, loc(16)});
  // IntList and Bool attributes.
  Op* red = addOk(f, {OpKind::ReduceSum, {full->result()},
                      {{"axes", std::vector<int64_t>{1}}, {"keepdims", true}}, {}, loc(17)});
  // IntList attribute.
  addOk(f, {OpKind::Transpose, {unnamed}, {{"perm", std::vector<int64_t>{1, 0}}}, {}, loc(18)});
  // DimList attribute with symbolic entries.
  addOk(f, {OpKind::Slice, {x},
            {{"start", std::vector<Dim>{B.divide(4), Dim(1)}},
             {"limit", std::vector<Dim>{B.divide(2), Dim(8)}},
             {"stride", std::vector<int64_t>{1, 1}}},
            {}, loc(19)});
  // AxisList, Enum and MeshRef attributes.
  Op* ar = addOk(f, {OpKind::AllReduce, {red->result()},
                     {{"axes", AxisList{{"tp", "dp"}}},
                      {"op", makeEnum(kReduceOpEnum, ReduceOp::Max)},
                      {"mesh", MeshRef{"m"}}},
                     {}, loc(20)});
  ar->result()->setSharding(shard("stage0", {axes({}, 2), axes({"dp"})}));
  // Two results.
  Op* topk = addOk(f, {OpKind::TopK, {x}, {{"k", int64_t{3}}}, {}, loc(21)});
  topk->result(1)->setName("topk_idx");
  // Variadic operands and an Int attribute.
  Op* cat = addOk(f, {OpKind::Concat, {x, g->result(), full->result()}, {{"axis", int64_t{0}}},
                      {}, loc(22)});
  f->setResults({cat->result(), topk->result(1), ar->result(), cmp->result(), cast->result(),
                 c->result(), x});

  Function* h = m->addFunction("identity");
  Value* y = h->addArgument(ty(DType::BF16, {}), "y");
  h->setResults({y, y});
  m->addFunction("empty");
  return m;
}

// ---- structural comparison ----

inline void expectValueEq(const Value* a, const Value* b, const std::string& where) {
  EXPECT_EQ(a->type(), b->type()) << where;
  EXPECT_EQ(a->sharding(), b->sharding()) << where;
  EXPECT_EQ(a->name(), b->name()) << where;
}

// Values are matched by position of definition (arguments, then op results in order).
inline void expectFunctionEq(const Function& a, const Function& b) {
  const std::string fn = "@" + a.name();
  EXPECT_EQ(a.name(), b.name());
  EXPECT_EQ(a.loc, b.loc) << fn;
  EXPECT_EQ(a.returnLoc, b.returnLoc) << fn;
  ASSERT_EQ(a.numArguments(), b.numArguments()) << fn;
  ASSERT_EQ(a.numOps(), b.numOps()) << fn;
  std::map<const Value*, int> posA, posB;
  int next = 0;
  for (int i = 0; i < a.numArguments(); ++i) {
    expectValueEq(a.argument(i), b.argument(i), fn + " argument " + std::to_string(i));
    posA[a.argument(i)] = posB[b.argument(i)] = next++;
  }
  for (int k = 0; k < a.numOps(); ++k) {
    const Op& oa = *a.ops()[k];
    const Op& ob = *b.ops()[k];
    const std::string where = fn + " op " + std::to_string(k);
    ASSERT_EQ(oa.kind(), ob.kind()) << where;
    EXPECT_EQ(oa.loc(), ob.loc()) << where;
    ASSERT_EQ(oa.numOperands(), ob.numOperands()) << where;
    for (int i = 0; i < oa.numOperands(); ++i)
      EXPECT_EQ(posA.at(oa.operand(i)), posB.at(ob.operand(i))) << where << " operand " << i;
    for (size_t i = 0; i < oa.info().attrs.size(); ++i)
      EXPECT_EQ(oa.attrSlot(static_cast<int>(i)), ob.attrSlot(static_cast<int>(i)))
          << where << " attribute " << oa.info().attrs[i].name;
    ASSERT_EQ(oa.numResults(), ob.numResults()) << where;
    for (int i = 0; i < oa.numResults(); ++i) {
      expectValueEq(oa.result(i), ob.result(i), where + " result " + std::to_string(i));
      posA[oa.result(i)] = posB[ob.result(i)] = next++;
    }
  }
  ASSERT_EQ(a.results().size(), b.results().size()) << fn;
  for (size_t i = 0; i < a.results().size(); ++i)
    EXPECT_EQ(posA.at(a.results()[i]), posB.at(b.results()[i])) << fn << " result " << i;
}

inline void expectModulesEqual(const Module& a, const Module& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.meshes, b.meshes);
  EXPECT_EQ(a.symbols, b.symbols);
  ASSERT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i) {
    const Parameter& pa = a.params[i];
    const Parameter& pb = b.params[i];
    EXPECT_EQ(pa.name, pb.name);
    EXPECT_EQ(pa.type, pb.type) << pa.name;
    EXPECT_EQ(pa.sharding, pb.sharding) << pa.name;
    EXPECT_EQ(pa.trainable, pb.trainable) << pa.name;
    EXPECT_EQ(pa.loc, pb.loc) << pa.name;
    ASSERT_EQ(pa.init == nullptr, pb.init == nullptr) << pa.name;
    if (pa.init) {
      EXPECT_EQ(*pa.init, *pb.init) << pa.name;
    }
  }
  ASSERT_EQ(a.functions().size(), b.functions().size());
  for (size_t i = 0; i < a.functions().size(); ++i)
    expectFunctionEq(*a.functions()[i], *b.functions()[i]);
}

}  // namespace tessera::ir::testing
