// Shape rules of the collectives (local shapes over a mesh group) and the interpreter's refusal
// to run them.
#include "OpsATestUtil.h"

namespace tessera::ir::opsa {
namespace {

using Ints = std::vector<int64_t>;

// A builder whose module has the mesh <dp=2, tp=4>.
struct MeshBuilder : Builder {
  MeshBuilder() { module.meshes.push_back(Mesh::make("m", {{"dp", 2}, {"tp", 4}})); }
};

AttrValue axes(std::vector<std::string> a) { return AxisList{std::move(a)}; }
const std::string kAt = "test.tir:3:5: error: ";

TEST(CollectiveRules, AllReduceKeepsTheType) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), 8});
  EXPECT_EQ(b.typeOrError(OpKind::AllReduce, {x},
                          {{"axes", axes({"tp"})}, {"op", makeEnum(kReduceOpEnum, ReduceOp::Max)}}),
            "f32[B,8]");
  EXPECT_EQ(b.typeOrError(OpKind::AllReduce, {x}, {{"axes", axes({"dp", "tp"})}}), "f32[B,8]");
}

TEST(CollectiveRules, AxesMustExistBeDistinctAndNonEmpty) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {8});
  EXPECT_EQ(b.typeOrError(OpKind::AllReduce, {x}, {{"axes", axes({"pp"})}}),
            kAt + "all_reduce: mesh @m has no axis 'pp'");
  EXPECT_EQ(b.typeOrError(OpKind::AllGather, {x}, {{"axes", axes({"tp", "tp"})}, {"dim", int64_t{0}}}),
            kAt + "all_gather: axis 'tp' is listed twice");
  EXPECT_EQ(b.typeOrError(OpKind::AllReduce, {x}, {{"axes", axes({})}}),
            kAt + "all_reduce: needs at least one mesh axis in axes=[...]");
  EXPECT_EQ(b.typeOrError(OpKind::AllReduce, {x}, {{"axes", axes({"tp"})}, {"mesh", MeshRef{"z"}}}),
            kAt + "all_reduce: unknown mesh @z");
  Builder noMesh;
  Value* y = noMesh.arg(DType::F32, {8});
  EXPECT_EQ(noMesh.typeOrError(OpKind::AllReduce, {y}, {{"axes", axes({"tp"})}}),
            kAt + "all_reduce: the module declares no mesh");
}

TEST(CollectiveRules, ReduceScatterDividesTheDim) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), 8});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceScatter, {x}, {{"axes", axes({"tp"})}, {"dim", int64_t{1}}}),
            "f32[B,2]");
  EXPECT_EQ(b.typeOrError(OpKind::ReduceScatter, {x}, {{"axes", axes({"dp", "tp"})}, {"dim", int64_t{-1}}}),
            "f32[B,1]");
  EXPECT_EQ(b.typeOrError(OpKind::ReduceScatter, {x}, {{"axes", axes({"tp"})}, {"dim", int64_t{0}}}),
            "f32[B/4,8]");
  Value* y = b.arg(DType::F32, {6});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceScatter, {y}, {{"axes", axes({"tp"})}, {"dim", int64_t{0}}}),
            kAt + "reduce_scatter: dimension 0 of size 6 is not divisible by the group size 4");
  EXPECT_EQ(b.typeOrError(OpKind::ReduceScatter, {y}, {{"axes", axes({"tp"})}, {"dim", int64_t{1}}}),
            kAt + "reduce_scatter: dim 1 is out of range for rank 1");
}

TEST(CollectiveRules, AllGatherMultipliesTheDim) {
  MeshBuilder b;
  Value* x = b.arg(DType::BF16, {sym("B").divide(2), 3});
  EXPECT_EQ(b.typeOrError(OpKind::AllGather, {x}, {{"axes", axes({"dp"})}, {"dim", int64_t{0}}}),
            "bf16[B,3]");
  EXPECT_EQ(b.typeOrError(OpKind::AllGather, {x}, {{"axes", axes({"dp", "tp"})}, {"dim", int64_t{1}}}),
            "bf16[B/2,24]");
  EXPECT_EQ(b.typeOrError(OpKind::AllGather, {x}, {{"axes", axes({"dp"})}, {"dim", int64_t{-3}}}),
            kAt + "all_gather: dim -3 is out of range for rank 2");
}

TEST(CollectiveRules, AllToAllSplitsOneDimAndConcatsAnother) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {sym("E"), 8, sym("C")});
  Attrs a = {{"axes", axes({"tp"})}, {"split_dim", int64_t{1}}, {"concat_dim", int64_t{2}}};
  EXPECT_EQ(b.typeOrError(OpKind::AllToAll, {x}, a), "f32[E,2,4*C]");
  Attrs same = {{"axes", axes({"tp"})}, {"split_dim", int64_t{0}}, {"concat_dim", int64_t{0}}};
  EXPECT_EQ(b.typeOrError(OpKind::AllToAll, {x}, same), "f32[E,8,C]");
  Value* y = b.arg(DType::F32, {6, 4});
  Attrs bad = {{"axes", axes({"tp"})}, {"split_dim", int64_t{0}}, {"concat_dim", int64_t{1}}};
  EXPECT_EQ(b.typeOrError(OpKind::AllToAll, {y}, bad),
            kAt + "all_to_all: dimension 0 of size 6 is not divisible by the group size 4");
  Attrs range = {{"axes", axes({"tp"})}, {"split_dim", int64_t{1}}, {"concat_dim", int64_t{5}}};
  EXPECT_EQ(b.typeOrError(OpKind::AllToAll, {y}, range),
            kAt + "all_to_all: concat_dim 5 is out of range for rank 2");
}

TEST(CollectiveRules, CollectivePermutePairs) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {sym("B")});
  auto permute = [&](Ints pairs) {
    return b.typeOrError(OpKind::CollectivePermute, {x}, {{"axes", axes({"tp"})}, {"pairs", pairs}});
  };
  EXPECT_EQ(permute({0, 1, 1, 2, 2, 3, 3, 0}), "f32[B]");
  EXPECT_EQ(permute({}), "f32[B]");
  EXPECT_EQ(permute({0, 1, 2}),
            kAt + "collective_permute: pairs must list (source, target) pairs, got an odd count 3");
  EXPECT_EQ(permute({0, 4}),
            kAt + "collective_permute: target 4 is out of range for a group of 4 devices");
  EXPECT_EQ(permute({-1, 0}),
            kAt + "collective_permute: source -1 is out of range for a group of 4 devices");
  EXPECT_EQ(permute({0, 1, 0, 2}),
            kAt + "collective_permute: source 0 appears in more than one pair");
  EXPECT_EQ(permute({0, 1, 2, 1}),
            kAt + "collective_permute: target 1 appears in more than one pair");
}

TEST(CollectiveRules, SendRecvBroadcast) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), 4});
  EXPECT_EQ(b.typeOrError(OpKind::Send, {x}, {{"axes", axes({"dp"})}, {"peer", int64_t{1}}}), "()");
  EXPECT_EQ(b.typeOrError(OpKind::Send, {x}, {{"axes", axes({"dp"})}, {"peer", int64_t{2}}}),
            kAt + "send: peer 2 is out of range for a group of 2 devices");
  TensorType t{DType::F32, {sym("B"), 4}};
  EXPECT_EQ(b.typeOrError(OpKind::Recv, {}, {{"axes", axes({"dp"})}, {"peer", int64_t{0}}}, {t}),
            "f32[B,4]");
  EXPECT_EQ(b.typeOrError(OpKind::Recv, {}, {{"axes", axes({"dp"})}, {"peer", int64_t{0}}}),
            kAt + "recv: needs a declared result type");
  EXPECT_EQ(b.typeOrError(OpKind::Recv, {}, {{"axes", axes({"tp"})}, {"peer", int64_t{-1}}}, {t}),
            kAt + "recv: peer -1 is out of range for a group of 4 devices");
  EXPECT_EQ(b.typeOrError(OpKind::Broadcast, {x}, {{"axes", axes({"tp"})}, {"root", int64_t{3}}}),
            "f32[B,4]");
  EXPECT_EQ(b.typeOrError(OpKind::Broadcast, {x}, {{"axes", axes({"tp"})}, {"root", int64_t{4}}}),
            kAt + "broadcast: root 4 is out of range for a group of 4 devices");
}

TEST(CollectiveRules, NamedMeshAmongSeveral) {
  MeshBuilder b;
  b.module.meshes.push_back(Mesh::make("m2", {{"ep", 8}}));
  Value* x = b.arg(DType::F32, {16});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceScatter, {x},
                          {{"axes", axes({"ep"})}, {"dim", int64_t{0}}, {"mesh", MeshRef{"m2"}}}),
            "f32[2]");
  EXPECT_EQ(b.typeOrError(OpKind::AllReduce, {x}, {{"axes", axes({"ep"})}}),
            kAt + "all_reduce: the module has several meshes; name one with mesh=@...");
}

TEST(CollectiveEval, NeedsTheDistributedRuntime) {
  MeshBuilder b;
  Value* x = b.arg(DType::F32, {4});
  Op* op = b.must(OpKind::AllReduce, {x}, {{"axes", axes({"tp"})}});
  auto r = b.eval(op->result(), {f32({4}, {1, 2, 3, 4})});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            "test.tir:3:5: error: collective all_reduce needs the distributed runtime; the "
            "reference interpreter runs single-device programs only");
}

}  // namespace
}  // namespace tessera::ir::opsa
