// Hand-crafted protos with one bad field each: the reader must reject every one with an error
// that names the file and the exact field path. The base message is a small valid module built
// directly with the generated classes, so each test changes exactly one thing.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "ir/ProtoSerializer.h"
#include "tessera.pb.h"

namespace tessera::ir {
namespace {

void setType(proto::TensorType* t, std::vector<int64_t> dims, proto::DType dt = proto::DTYPE_F32) {
  t->set_dtype(dt);
  for (int64_t d : dims) {
    proto::Term* term = t->add_shape()->add_terms();
    term->set_num(d);
    term->set_den(1);
  }
}

// mesh @m = <dp=2>; func @f(%x: f32[4]) { %y = neg %x; %z = add %x, %y; return %z }
proto::Module base() {
  proto::Module pm;
  pm.set_name("b");
  proto::Mesh* mesh = pm.add_meshes();
  mesh->set_name("m");
  proto::MeshAxis* axis = mesh->add_axes();
  axis->set_name("dp");
  axis->set_size(2);
  mesh->add_devices(0);
  mesh->add_devices(1);
  proto::Function* f = pm.add_functions();
  f->set_name("f");
  proto::ValueDef* x = f->add_arguments();
  x->set_id(0);
  x->set_name("x");
  setType(x->mutable_type(), {4});
  proto::Op* neg = f->add_ops();
  neg->set_kind("neg");
  neg->add_operands(0);
  proto::ValueDef* y = neg->add_results();
  y->set_id(1);
  setType(y->mutable_type(), {4});
  proto::Op* add = f->add_ops();
  add->set_kind("add");
  add->add_operands(0);
  add->add_operands(1);
  proto::ValueDef* z = add->add_results();
  z->set_id(2);
  setType(z->mutable_type(), {4});
  f->add_results(2);
  return pm;
}

std::string read(const proto::Module& pm) {
  std::string bytes;
  EXPECT_TRUE(pm.SerializeToString(&bytes));
  auto m = deserializeModule(bytes, "bad.tpb");
  return m.isOk() ? "ok" : m.status().message();
}

std::string err(const std::string& pathAndWhat) { return "error: bad.tpb: " + pathAndWhat; }

proto::Op* op(proto::Module& pm, int i) { return pm.mutable_functions(0)->mutable_ops(i); }

TEST(ProtoBadInput, BaseIsValid) { EXPECT_EQ(read(base()), "ok"); }

TEST(ProtoBadInput, UnparsableBytes) {
  auto m = deserializeModule(std::string("\xff\xff\xff\xff", 4), "bad.tpb");
  ASSERT_FALSE(m.isOk());
  EXPECT_EQ(m.status().message(),
            "error: bad.tpb: not a valid Tessera protobuf module (parse failed)");
}

TEST(ProtoBadInput, UnknownOpMnemonic) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("frobnicate");
  EXPECT_EQ(read(pm), err("functions[0].ops[0].kind: unknown op 'frobnicate'"));
}

TEST(ProtoBadInput, WrongOperandCount) {
  proto::Module pm = base();
  op(pm, 0)->add_operands(0);
  EXPECT_EQ(read(pm), err("functions[0].ops[0].operands: neg takes 1 operands, got 2"));
}

TEST(ProtoBadInput, WrongResultCount) {
  proto::Module pm = base();
  op(pm, 0)->clear_results();
  EXPECT_EQ(read(pm), err("functions[0].ops[0].results: neg has 1 results, got 0"));
}

TEST(ProtoBadInput, UndefinedOperandId) {
  proto::Module pm = base();
  op(pm, 1)->set_operands(1, 99);
  EXPECT_EQ(read(pm), err("functions[0].ops[1].operands[1]: no value with id 99"));
}

TEST(ProtoBadInput, LaterDefinedOperandId) {
  proto::Module pm = base();
  op(pm, 0)->set_operands(0, 2);
  EXPECT_EQ(read(pm), err("functions[0].ops[0].operands[0]: value 2 is used before its "
                          "definition at functions[0].ops[1].results[0]"));
}

TEST(ProtoBadInput, DuplicateValueIds) {
  proto::Module pm = base();
  op(pm, 1)->mutable_results(0)->set_id(0);
  EXPECT_EQ(read(pm), err("functions[0].ops[1].results[0].id: duplicate value id 0 (also "
                          "functions[0].arguments[0])"));
}

TEST(ProtoBadInput, UndefinedFunctionResult) {
  proto::Module pm = base();
  pm.mutable_functions(0)->add_results(-5);
  EXPECT_EQ(read(pm), err("functions[0].results[1]: no value with id -5"));
}

TEST(ProtoBadInput, UnknownAttributeName) {
  proto::Module pm = base();
  proto::Attr* a = op(pm, 0)->add_attrs();
  a->set_name("bogus");
  a->set_int_value(1);
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[0]: neg has no attribute 'bogus'"));
}

TEST(ProtoBadInput, AttributeOfWrongKind) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("gelu");
  proto::Attr* a = op(pm, 0)->add_attrs();
  a->set_name("approximate");
  a->set_int_value(1);
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[0]: attribute 'approximate' must be of "
                          "kind enum, got integer"));
}

TEST(ProtoBadInput, AttributeWithoutValue) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("gelu");
  op(pm, 0)->add_attrs()->set_name("approximate");
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[0]: attribute 'approximate' has no value"));
}

TEST(ProtoBadInput, AttributeGivenTwice) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("gelu");
  for (int i = 0; i < 2; ++i) {
    proto::Attr* a = op(pm, 0)->add_attrs();
    a->set_name("approximate");
    a->set_enum_value("none");
  }
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[1]: attribute 'approximate' is given twice"));
}

TEST(ProtoBadInput, UnknownEnumValue) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("gelu");
  proto::Attr* a = op(pm, 0)->add_attrs();
  a->set_name("approximate");
  a->set_enum_value("sideways");
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[0].enum_value: 'sideways' is not a gelu "
                          "approximation value"));
}

TEST(ProtoBadInput, MissingRequiredAttributeComesFromAddOp) {
  proto::Module pm = base();
  op(pm, 1)->set_kind("compare");
  op(pm, 1)->mutable_results(0)->mutable_type()->set_dtype(proto::DTYPE_BOOL);
  EXPECT_EQ(read(pm), err("functions[0].ops[1]: compare: missing required attribute 'dir'"));
}

TEST(ProtoBadInput, DeclaredTypeDisagreesWithShapeRule) {
  proto::Module pm = base();
  op(pm, 0)->mutable_loc()->set_file("src.tir");
  op(pm, 0)->mutable_loc()->set_line(3);
  op(pm, 0)->mutable_loc()->set_col(7);
  op(pm, 0)->mutable_results(0)->mutable_type()->mutable_shape(0)->mutable_terms(0)->set_num(5);
  EXPECT_EQ(read(pm), err("functions[0].ops[0]: neg: result 0 is declared f32[5] but the op "
                          "produces f32[4] (at src.tir:3:7)"));
}

TEST(ProtoBadInput, DTypeOutOfRange) {
  proto::Module pm = base();
  pm.mutable_functions(0)->mutable_arguments(0)->mutable_type()->set_dtype(
      static_cast<proto::DType>(42));
  EXPECT_EQ(read(pm), err("functions[0].arguments[0].type.dtype: unknown dtype 42"));
}

TEST(ProtoBadInput, DTypeAttributeOutOfRange) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("cast");
  proto::Attr* a = op(pm, 0)->add_attrs();
  a->set_name("dtype");
  a->set_dtype(static_cast<proto::DType>(-1));
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[0].dtype: unknown dtype -1"));
}

TEST(ProtoBadInput, ZeroDenominator) {
  proto::Module pm = base();
  pm.mutable_functions(0)->mutable_arguments(0)->mutable_type()->mutable_shape(0)
      ->mutable_terms(0)->set_den(0);
  EXPECT_EQ(read(pm), err("functions[0].arguments[0].type.shape[0].terms[0].den: denominator "
                          "must be positive, got 0"));
}

TEST(ProtoBadInput, MostNegativeCoefficient) {
  proto::Module pm = base();
  pm.mutable_functions(0)->mutable_arguments(0)->mutable_type()->mutable_shape(0)
      ->mutable_terms(0)->set_num(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(read(pm), err("functions[0].arguments[0].type.shape[0].terms[0].num: coefficient "
                          "out of range"));
}

TEST(ProtoBadInput, RepeatedMonomial) {
  proto::Module pm = base();
  proto::Dim* d = pm.mutable_functions(0)->mutable_arguments(0)->mutable_type()->mutable_shape(0);
  proto::Term* t = d->add_terms();  // a second constant term
  t->set_num(1);
  t->set_den(1);
  EXPECT_EQ(read(pm), err("functions[0].arguments[0].type.shape[0].terms[1]: repeats the "
                          "monomial of an earlier term"));
}

TEST(ProtoBadInput, NegativeDimInType) {
  proto::Module pm = base();
  pm.mutable_functions(0)->mutable_arguments(0)->mutable_type()->mutable_shape(0)
      ->mutable_terms(0)->set_num(-3);
  EXPECT_EQ(read(pm), err("functions[0].arguments[0].type.shape[0]: dimension -3 is negative"));
}

proto::Parameter* tensorParam(proto::Module& pm, std::vector<int64_t> shape, size_t bytes) {
  proto::Parameter* p = pm.add_params();
  p->set_name("w");
  p->mutable_type()->set_dtype(proto::DTYPE_F32);
  proto::TensorData* t = p->mutable_init();
  t->set_dtype(proto::DTYPE_F32);
  for (int64_t d : shape) t->add_shape(d);
  t->set_data(std::string(bytes, '\0'));
  return p;
}

TEST(ProtoBadInput, DataLengthMismatch) {
  proto::Module pm = base();
  tensorParam(pm, {2, 3}, 20);
  EXPECT_EQ(read(pm),
            err("params[0].init.data: holds 20 bytes but 6 elements of f32 need 24"));
}

TEST(ProtoBadInput, HugeShapeIsRejectedWithoutAllocating) {
  proto::Module pm = base();
  const int64_t big = int64_t{1} << 62;
  tensorParam(pm, {big, big, big}, 16);
  EXPECT_EQ(read(pm), err("params[0].init.shape[1]: the shape has more elements than fit in 64 "
                          "bits"));
  proto::Module pm2 = base();
  tensorParam(pm2, {int64_t{1} << 40}, 8);
  EXPECT_EQ(read(pm2), err("params[0].init.data: holds 8 bytes, far fewer than the "
                           "1099511627776 elements of the shape need"));
}

TEST(ProtoBadInput, SplatHoldsExactlyOneElement) {
  proto::Module pm = base();
  tensorParam(pm, {2, 3}, 8)->mutable_init()->set_splat(true);
  EXPECT_EQ(read(pm), err("params[0].init.data: a splat holds one element of f32 (4 bytes), not 8 "
                          "bytes"));
  proto::Module pm2 = base();
  tensorParam(pm2, {2, 3}, 0)->mutable_init()->set_splat(true);
  EXPECT_EQ(read(pm2), err("params[0].init.data: a splat holds one element of f32 (4 bytes), not 0 "
                           "bytes"));
}

TEST(ProtoBadInput, HugeSplatIsRejectedWithoutAllocating) {
  // Four bytes that claim 2^40 elements: the shape alone would set the allocation.
  proto::Module pm = base();
  tensorParam(pm, {int64_t{1} << 20, int64_t{1} << 20}, 4)->mutable_init()->set_splat(true);
  EXPECT_EQ(read(pm), err("params[0].init.shape: a splat of 1099511627776 elements is more than the "
                          "2^31 a tensor may hold"));
}

TEST(ProtoBadInput, ZeroDimDoesNotExcuseAnOverflowingShape) {
  // Empty, but Tensor computes strides from the other dims, so their product must still fit.
  proto::Module pm = base();
  const int64_t big = std::numeric_limits<int64_t>::max();
  tensorParam(pm, {big, 0, big}, 0);
  EXPECT_EQ(read(pm), err("params[0].init.shape[2]: the shape has more elements than fit in 64 "
                          "bits"));
}

TEST(ProtoBadInput, LargeShapeWithAZeroDimIsEmpty) {
  proto::Module pm = base();
  tensorParam(pm, {int64_t{1} << 30, 0, int64_t{1} << 30}, 0);
  EXPECT_EQ(read(pm), "ok");
}

TEST(ProtoBadInput, NegativeDimInTensor) {
  proto::Module pm = base();
  tensorParam(pm, {2, -1}, 0);
  EXPECT_EQ(read(pm), err("params[0].init.shape[1]: dimension -1 is negative"));
}

TEST(ProtoBadInput, TensorAttributeDataLengthMismatch) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("constant");
  op(pm, 0)->clear_operands();
  proto::Attr* a = op(pm, 0)->add_attrs();
  a->set_name("value");
  a->mutable_tensor()->set_dtype(proto::DTYPE_BF16);
  a->mutable_tensor()->add_shape(4);
  a->mutable_tensor()->set_data("abcde");
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[0].tensor.data: holds 5 bytes but 4 "
                          "elements of bf16 need 8"));
}

TEST(ProtoBadInput, UnknownMeshInSharding) {
  proto::Module pm = base();
  pm.mutable_functions(0)->mutable_arguments(0)->mutable_sharding()->set_mesh("nope");
  EXPECT_EQ(read(pm), err("functions[0].arguments[0].sharding.mesh: no mesh named 'nope'"));
}

TEST(ProtoBadInput, UnknownPartialKind) {
  proto::Module pm = base();
  proto::PartialAxis* p = op(pm, 0)->mutable_results(0)->mutable_sharding()->add_partial();
  p->set_axis("dp");
  p->set_kind(static_cast<proto::PartialKind>(7));
  EXPECT_EQ(read(pm), err("functions[0].ops[0].results[0].sharding.partial[0].kind: unknown "
                          "partial kind 7"));
}

TEST(ProtoBadInput, UnknownMeshRef) {
  proto::Module pm = base();
  op(pm, 0)->set_kind("all_reduce");
  proto::Attr* axes = op(pm, 0)->add_attrs();
  axes->set_name("axes");
  axes->mutable_axis_list()->add_axes("dp");
  proto::Attr* mesh = op(pm, 0)->add_attrs();
  mesh->set_name("mesh");
  mesh->set_mesh_ref("elsewhere");
  EXPECT_EQ(read(pm), err("functions[0].ops[0].attrs[1].mesh_ref: no mesh named 'elsewhere'"));
}

TEST(ProtoBadInput, SubMeshParentMissing) {
  proto::Module pm = base();
  proto::Mesh* s = pm.add_meshes();
  *s = pm.meshes(0);
  s->set_name("s");
  s->set_parent("ghost");
  EXPECT_EQ(read(pm), err("meshes[1].parent: no mesh named 'ghost' declared before it"));
}

TEST(ProtoBadInput, MeshAxisSizeNotPositive) {
  proto::Module pm = base();
  pm.mutable_meshes(0)->mutable_axes(0)->set_size(0);
  EXPECT_EQ(read(pm), err("meshes[0].axes[0].size: axis size must be positive, got 0"));
}

TEST(ProtoBadInput, MeshWithHugeAxesAndFewDevices) {
  proto::Module pm = base();
  pm.mutable_meshes(0)->mutable_axes(0)->set_size(int64_t{1} << 40);
  proto::MeshAxis* a = pm.mutable_meshes(0)->add_axes();
  a->set_name("tp");
  a->set_size(int64_t{1} << 40);
  EXPECT_EQ(read(pm), err("meshes[0].devices: lists 2 devices, fewer than the axes make"));
}

TEST(ProtoBadInput, MeshFailingItsOwnCheck) {
  proto::Module pm = base();
  pm.mutable_meshes(0)->set_devices(1, 0);  // device 0 twice
  EXPECT_EQ(read(pm), err("meshes[0]: mesh @m lists device 0 twice"));
}

}  // namespace
}  // namespace tessera::ir
