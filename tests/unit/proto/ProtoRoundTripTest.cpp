// Round trips through the binary form: serialize -> deserialize -> serialize gives the same bytes
// and a structurally equal module; and spot checks of the wire encoding against values computed
// by hand (little-endian element bytes, dims as polynomial terms, kinds by mnemonic).
#include <gtest/gtest.h>

#include <cmath>

#include "ir/Printer.h"
#include "ir/ProtoSerializer.h"
#include "ir/Verifier.h"
#include "tessera.pb.h"
#include "tests/unit/proto/TestModules.h"

namespace tessera::ir {
namespace {

using testing::buildRichModule;
using testing::expectModulesEqual;

std::string bytesOf(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

TEST(ProtoRoundTrip, RichModuleIsValid) {
  auto m = buildRichModule();
  Status st = verifyModule(*m);
  EXPECT_TRUE(st.isOk()) << st.message();
}

TEST(ProtoRoundTrip, RichModuleBytesAndStructure) {
  auto m = buildRichModule();
  auto first = serializeModule(*m);
  ASSERT_TRUE(first.isOk()) << first.status().message();
  auto back = deserializeModule(*first, "rich.tpb");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  expectModulesEqual(*m, **back);
  auto second = serializeModule(**back);
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(*first, *second);
  Status st = verifyModule(**back);
  EXPECT_TRUE(st.isOk()) << st.message();
}

// A second, independent view of equality: the canonical text form.
TEST(ProtoRoundTrip, RichModulePrintsTheSameAfterTheRoundTrip) {
  auto m = buildRichModule();
  auto bytes = serializeModule(*m);
  ASSERT_TRUE(bytes.isOk());
  auto back = deserializeModule(*bytes, "rich.tpb");
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(printModule(*m), printModule(**back));
}

TEST(ProtoRoundTrip, EmptyModule) {
  Module m("");
  auto bytes = serializeModule(m);
  ASSERT_TRUE(bytes.isOk());
  EXPECT_EQ(*bytes, "");  // proto3 writes no default fields
  auto back = deserializeModule(*bytes, "e.tpb");
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ((*back)->name, "");
  EXPECT_TRUE((*back)->functions().empty());
}

// Initial values are stored as raw little-endian bytes of the element type; the expected bytes
// are the IEEE / two's complement encodings worked out by hand.
TEST(ProtoRoundTrip, ElementBytesAreLittleEndianInTheElementType) {
  Module m("enc");
  m.params.push_back(testing::param("f32", DType::F32, {2}, {1.0, -2.0}));
  m.params.push_back(testing::param("f64", DType::F64, {1}, {1.0}));
  m.params.push_back(testing::param("bf16", DType::BF16, {1}, {1.5}));
  m.params.push_back(testing::param("f16", DType::F16, {1}, {1.5}));
  m.params.push_back(testing::param("i32", DType::I32, {1}, {-2}));
  m.params.push_back(testing::param("i64", DType::I64, {1}, {258}));
  m.params.push_back(testing::param("b", DType::Bool, {3}, {1, 0, 5}));
  auto bytes = serializeModule(m);
  ASSERT_TRUE(bytes.isOk());
  proto::Module pm;
  ASSERT_TRUE(pm.ParseFromString(*bytes));
  ASSERT_EQ(pm.params_size(), 7);
  EXPECT_EQ(pm.params(0).init().data(), bytesOf({0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0}));
  EXPECT_EQ(pm.params(1).init().data(), bytesOf({0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  EXPECT_EQ(pm.params(2).init().data(), bytesOf({0xC0, 0x3F}));
  EXPECT_EQ(pm.params(3).init().data(), bytesOf({0x00, 0x3E}));
  EXPECT_EQ(pm.params(4).init().data(), bytesOf({0xFE, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(pm.params(5).init().data(), bytesOf({0x02, 0x01, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(pm.params(6).init().data(), bytesOf({1, 0, 1}));
  EXPECT_EQ(pm.params(0).init().dtype(), proto::DTYPE_F32);
  EXPECT_EQ(pm.params(6).init().dtype(), proto::DTYPE_BOOL);
  ASSERT_EQ(pm.params(0).init().shape_size(), 1);
  EXPECT_EQ(pm.params(0).init().shape(0), 2);
}

// A tensor whose elements all encode to the same bits is stored as one element (the AdamW state
// of a plan file); anything else, including -0.0 next to 0.0, keeps every element.
TEST(ProtoRoundTrip, ConstantTensorsAreStoredAsOneElement) {
  Module m("splat");
  m.params.push_back(testing::param("zeros", DType::F32, {3, 4}, std::vector<double>(12, 0.0)));
  m.params.push_back(testing::param("halves", DType::BF16, {5}, std::vector<double>(5, 0.5)));
  m.params.push_back(testing::param("signed", DType::F32, {2}, {0.0, -0.0}));
  m.params.push_back(testing::param("one", DType::F32, {1}, {7.0}));
  auto bytes = serializeModule(m);
  ASSERT_TRUE(bytes.isOk());
  proto::Module pm;
  ASSERT_TRUE(pm.ParseFromString(*bytes));
  EXPECT_TRUE(pm.params(0).init().splat());
  EXPECT_EQ(pm.params(0).init().data(), bytesOf({0, 0, 0, 0}));
  EXPECT_TRUE(pm.params(1).init().splat());
  EXPECT_EQ(pm.params(1).init().data(), bytesOf({0x00, 0x3F}));
  EXPECT_FALSE(pm.params(2).init().splat());
  EXPECT_EQ(pm.params(2).init().data(), bytesOf({0, 0, 0, 0, 0, 0, 0, 0x80}));
  EXPECT_FALSE(pm.params(3).init().splat());

  auto back = deserializeModule(*bytes, "splat.tpb");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  const auto& zeros = *(*back)->params[0].init;
  EXPECT_EQ(zeros.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(zeros.data(), std::vector<double>(12, 0.0));
  EXPECT_EQ((*back)->params[1].init->data(), std::vector<double>(5, 0.5));
  EXPECT_TRUE(std::signbit((*back)->params[2].init->data()[1]));
  expectModulesEqual(m, **back);
}

TEST(ProtoRoundTrip, DimsAreWrittenAsPolynomialTerms) {
  Module m("dims");
  Parameter p;
  p.name = "p";
  const Dim B = Dim::symbol("B"), S = Dim::symbol("S");
  p.type = testing::ty(DType::F32, {Dim(3) * B.divide(2) + Dim(1), B * S * B, Dim(0)});
  m.params.push_back(p);
  auto bytes = serializeModule(m);
  ASSERT_TRUE(bytes.isOk());
  proto::Module pm;
  ASSERT_TRUE(pm.ParseFromString(*bytes));
  const proto::TensorType& t = pm.params(0).type();
  ASSERT_EQ(t.shape_size(), 3);
  // 3*B/2 + 1: two terms; which comes first is the writer's choice, so look both up.
  ASSERT_EQ(t.shape(0).terms_size(), 2);
  bool sawB = false, sawOne = false;
  for (const proto::Term& term : t.shape(0).terms()) {
    if (term.symbols_size() == 1 && term.symbols(0) == "B") {
      sawB = true;
      EXPECT_EQ(term.num(), 3);
      EXPECT_EQ(term.den(), 2);
    } else if (term.symbols_size() == 0) {
      sawOne = true;
      EXPECT_EQ(term.num(), 1);
      EXPECT_EQ(term.den(), 1);
    }
  }
  EXPECT_TRUE(sawB && sawOne);
  // B*S*B: one term with the symbols sorted and repeated.
  ASSERT_EQ(t.shape(1).terms_size(), 1);
  ASSERT_EQ(t.shape(1).terms(0).symbols_size(), 3);
  EXPECT_EQ(t.shape(1).terms(0).symbols(0), "B");
  EXPECT_EQ(t.shape(1).terms(0).symbols(1), "B");
  EXPECT_EQ(t.shape(1).terms(0).symbols(2), "S");
  EXPECT_EQ(t.shape(2).terms_size(), 0);  // the constant 0

  auto back = deserializeModule(*bytes, "dims.tpb");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ((*back)->params[0].type, p.type);
}

TEST(ProtoRoundTrip, OpsAndEnumsAreStoredByName) {
  auto m = buildRichModule();
  auto bytes = serializeModule(*m);
  ASSERT_TRUE(bytes.isOk());
  proto::Module pm;
  ASSERT_TRUE(pm.ParseFromString(*bytes));
  const proto::Op& gelu = pm.functions(0).ops(0);
  EXPECT_EQ(gelu.kind(), "gelu");
  ASSERT_EQ(gelu.attrs_size(), 1);
  EXPECT_EQ(gelu.attrs(0).name(), "approximate");
  EXPECT_EQ(gelu.attrs(0).enum_value(), "tanh");
  EXPECT_EQ(gelu.loc().file(), "rich.tir");
  EXPECT_EQ(gelu.loc().line(), 11);
  // Operand ids refer to the argument x (id of argument 0).
  EXPECT_EQ(gelu.operands(0), pm.functions(0).arguments(0).id());
  EXPECT_EQ(pm.functions(0).ops(1).kind(), "compare");
  EXPECT_EQ(pm.functions(0).ops(1).attrs(0).enum_value(), "ge");
  // An op without location writes none, and reads back as unknown.
  EXPECT_FALSE(pm.functions(0).ops(4).has_loc());
}

TEST(ProtoRoundTrip, ShardingDetailsSurvive) {
  auto m = buildRichModule();
  auto bytes = serializeModule(*m);
  ASSERT_TRUE(bytes.isOk());
  auto back = deserializeModule(*bytes, "rich.tpb");
  ASSERT_TRUE(back.isOk());
  const Parameter& w = (*back)->params[0];
  ASSERT_TRUE(w.sharding.has_value());
  EXPECT_EQ(w.sharding->mesh, "m");
  ASSERT_EQ(w.sharding->dims.size(), 2u);
  EXPECT_EQ(w.sharding->dims[0].axes, std::vector<std::string>{"dp"});
  EXPECT_EQ(w.sharding->dims[0].priority, 1);
  EXPECT_FALSE(w.sharding->dims[1].priority.has_value());
  ASSERT_EQ(w.sharding->partial.size(), 1u);
  EXPECT_EQ(w.sharding->partial[0].first, "tp");
  EXPECT_EQ(w.sharding->partial[0].second, PartialKind::Sum);
  const Value* x = (*back)->functions()[0]->argument(0);
  ASSERT_TRUE(x->sharding().has_value());
  EXPECT_TRUE(x->sharding()->dims[1].open);
  EXPECT_EQ(x->sharding()->dims[0].priority, 0);  // priority 0 is kept, not dropped as default
  EXPECT_FALSE((*back)->functions()[0]->argument(1)->sharding().has_value());
  EXPECT_TRUE((*back)->params[1].trainable);
  EXPECT_FALSE((*back)->params[2].trainable);
}

TEST(ProtoRoundTrip, SubMeshAndDeviceOrder) {
  auto m = buildRichModule();
  auto bytes = serializeModule(*m);
  ASSERT_TRUE(bytes.isOk());
  auto back = deserializeModule(*bytes, "rich.tpb");
  ASSERT_TRUE(back.isOk());
  const Mesh* stage = (*back)->findMesh("stage0");
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->parent, "m");
  ASSERT_EQ(stage->fixed.size(), 1u);
  EXPECT_EQ(stage->fixed[0], (std::pair<std::string, int64_t>{"pp", 0}));
  // Slice pp=0 of the reversed 2x2x2 mesh: coordinates (dp,tp,0) are flat 0,2,4,6 -> 7,5,3,1.
  EXPECT_EQ(stage->devices, (std::vector<int64_t>{7, 5, 3, 1}));
  EXPECT_EQ((*back)->findMesh("m")->devices, (std::vector<int64_t>{7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(ProtoRoundTrip, SerializingOutOfOrderSsaIsAnError) {
  Module m("bad");
  Function* f = m.addFunction("f");
  Value* x = f->addArgument(testing::ty(DType::F32, {Dim(4)}), "x");
  Op* a = testing::addOk(f, {OpKind::Neg, {x}, {}, {}, {"bad.tir", 3, 5}});
  Op* b = testing::addOk(f, {OpKind::Neg, {a->result()}, {}, {}, {}});
  ASSERT_TRUE(a && b);
  a->setOperand(0, b->result());
  auto bytes = serializeModule(m);
  ASSERT_FALSE(bytes.isOk());
  EXPECT_NE(bytes.status().message().find("bad.tir:3:5: error: neg: operand 0"),
            std::string::npos)
      << bytes.status().message();
}

}  // namespace
}  // namespace tessera::ir
