// Round trips of the text form: every fixture, a hand-written canonical module, and modules
// built in code with addOp (every attribute kind, shardings, meshes, parameters of every dtype).
#include <cmath>
#include <cstring>
#include <limits>

#include "TextTestUtil.h"
#include "ir/Module.h"

namespace tessera::ir {
namespace {

using testing::parseOrDie;
using testing::readFile;

TEST(TextRoundTrip, EveryFixturePrintsCanonically) {
  auto paths = testing::fixturePaths();
  ASSERT_GE(paths.size(), 5u);
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    auto m1 = parseOrDie(readFile(path), path);
    ASSERT_TRUE(m1);
    std::string p1 = printModule(*m1);
    auto m2 = parseOrDie(p1, "printed.tir");
    ASSERT_TRUE(m2);
    std::string p2 = printModule(*m2);
    EXPECT_EQ(p1, p2);
  }
}

// Canonical text (what the printer emits) is a fixed point of parse-then-print.
TEST(TextRoundTrip, CanonicalTextIsReproducedExactly) {
  std::string ones;
  for (int i = 0; i < 32; ++i) ones += "0000803f";  // 1.0f, little-endian
  const std::string valid =
      "module @canon {\n"
      "  mesh @m = <dp=2, tp=4>\n"
      "  mesh @r = <x=2, y=2> devices=[3,2,1,0]\n"
      "  mesh @s0 = @m[dp=0]\n"
      "  sym B divisible_by 2\n"
      "  sym S\n"
      "  param @w1 : f32[4,8] @m{-, tp} = dense<f32[4,8], 0x" +
      ones +
      ">\n"
      "  param @frozen_emb : f32[S,B] frozen\n"
      "\n"
      "  func @step(%x: f32[B,4] @m{dp, -}, %w1: f32[4,8] @m{-, tp}) -> (f32[B,8], f32[]) {\n"
      "    %h = matmul %x, %w1 : f32[B,8] @m{dp, tp}\n"
      "    %a = gelu %h approximate=tanh : f32[B,8]\n"
      "    %v, %i = top_k %a k=2 : f32[B,2], i64[B,2]\n"
      "    %c = constant value=dense<f32[2], [1, 2.5]> : f32[2]\n"
      "    %s = slice %a start=[0,0] limit=[B,4] : f32[B,4]\n"
      "    %y = all_reduce %h axes=[tp] op=sum mesh=@m : f32[B,8] @m{dp, -} partial{tp:sum}\n"
      "    send %y axes=[dp] peer=1 mesh=@m\n"
      "    %l = reduce_sum %a axes=[0,1] : f32[]\n"
      "    return %a, %l\n"
      "  }\n"
      "\n"
      "  func @empty() -> () {\n"
      "    return\n"
      "  }\n"
      "}\n";
  auto m = parseOrDie(valid);
  ASSERT_TRUE(m);
  EXPECT_EQ(printModule(*m), valid);
}

TEST(TextRoundTrip, ParsedStructureMatchesTheText) {
  auto m = parseOrDie(readFile(testing::fixtureDir() + "/mlp.tir"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "mlp");
  ASSERT_EQ(m->meshes.size(), 1u);
  EXPECT_EQ(m->meshes[0].axes, (std::vector<MeshAxis>{{"dp", 2}, {"tp", 4}}));
  EXPECT_EQ(m->meshes[0].devices, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  ASSERT_EQ(m->symbols.size(), 1u);
  EXPECT_EQ(m->symbols[0].name, "B");
  EXPECT_EQ(m->symbols[0].divisibleBy, 2);
  EXPECT_EQ(m->symbols[0].loc.line, 4);
  EXPECT_EQ(m->symbols[0].loc.col, 3);

  ASSERT_EQ(m->params.size(), 2u);
  EXPECT_FALSE(m->params[0].init);
  EXPECT_TRUE(m->params[0].trainable);
  ASSERT_TRUE(m->params[0].sharding);
  EXPECT_TRUE(m->params[0].sharding->dims[0].axes.empty());
  EXPECT_EQ(m->params[0].sharding->dims[1].axes, std::vector<std::string>{"tp"});
  ASSERT_TRUE(m->params[1].init);
  EXPECT_EQ(
      m->params[1].init->data(),
      (std::vector<double>{0.5, -1.0, 0.25, 0, static_cast<double>(1e-07f), 3.5, -2.75, 100}));

  Function* f = m->findFunction("step");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->numArguments(), 3);
  EXPECT_EQ(f->argument(0)->name(), "x");
  EXPECT_EQ(f->argument(0)->type().str(), "f32[B,4]");
  ASSERT_EQ(f->numOps(), 10);
  const Op& topk = *f->ops()[3];
  EXPECT_EQ(topk.kind(), OpKind::TopK);
  EXPECT_EQ(topk.intAttr("k"), 2);
  EXPECT_EQ(topk.result(1)->type().str(), "i64[B,2]");
  EXPECT_EQ(topk.result(1)->name(), "i");
  EXPECT_EQ(topk.loc().line, 12);
  EXPECT_EQ(topk.loc().col, 5);
  EXPECT_EQ(f->ops()[2]->enumAttr("approximate", GeluApprox::None), GeluApprox::Tanh);
  EXPECT_EQ(printOp(topk), "%v, %i = top_k %a k=2 : f32[B,2], i64[B,2]");
  EXPECT_EQ(printOp(*f->ops()[8]), "send %y axes=[dp] peer=1");
  // printOps prints every op as printOp does, with one naming of the function.
  const std::vector<std::string> all = printOps(*f);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all[3], "%v, %i = top_k %a k=2 : f32[B,2], i64[B,2]");
  for (int i = 0; i < f->numOps(); ++i) EXPECT_EQ(all[i], printOp(*f->ops()[i])) << i;
  const Op& slice = *f->ops()[6];
  EXPECT_EQ(slice.attrAs<std::vector<Dim>>("limit"), (std::vector<Dim>{Dim::symbol("B"), Dim(4)}));
  const Op& send = *f->ops()[8];
  EXPECT_EQ(send.numResults(), 0);
  EXPECT_EQ(send.operand(0), f->ops()[7]->result(0));
  EXPECT_EQ(f->results().size(), 2u);
  EXPECT_EQ(f->results()[1], f->ops()[9]->result(0));
}

TEST(TextRoundTrip, ParamLiteralsHoldTheWrittenValues) {
  auto m = parseOrDie(readFile(testing::fixtureDir() + "/params.tir"));
  ASSERT_TRUE(m);
  auto init = [&](const char* name) -> const Tensor& {
    const Parameter* p = m->findParam(name);
    EXPECT_TRUE(p && p->init) << name;
    return *p->init;
  };
  const Tensor& f32 = init("pf32");
  ASSERT_EQ(f32.shape(), (std::vector<int64_t>{4, 5}));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f32[i], i * 0.25 - 2);
  const Tensor& f64 = init("pf64");
  for (int i = 0; i < 18; ++i) EXPECT_EQ(f64[i], 0.1 * i);  // python wrote 0.1*i's exact bits
  const Tensor& bf = init("pbf16");
  const double bfv[] = {1.0, -2.0, 0.5, 3.0, 0.15625, -0.75};
  for (int i = 0; i < 18; ++i) EXPECT_EQ(bf[i], bfv[i % 6]);
  const Tensor& h = init("pf16");
  const double hv[] = {0.5, -1.5, 2.0, 65504.0, -0.0009765625, 1.0};
  for (int i = 0; i < 18; ++i) EXPECT_EQ(h[i], hv[i % 6]);
  EXPECT_FALSE(m->findParam("pf16")->trainable);
  const Tensor& i32 = init("pi32");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(i32[i], (i - 10) * 1000003.0 - 7);
  const Tensor& i64 = init("pi64");
  for (int i = 0; i < 17; ++i) EXPECT_EQ(i64[i], 4503599627370496.0 - i * 12345.0);
  EXPECT_EQ(i64[17], -9007199254740992.0);
  const Tensor& b = init("pbool");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b[i], (i % 4 == 0 || i % 4 == 3) ? 1.0 : 0.0);

  const Tensor& sf = init("small_f32");
  EXPECT_EQ(sf[0], static_cast<double>(0.1f));
  EXPECT_EQ(sf[1], static_cast<double>(-0.2f));
  EXPECT_EQ(sf[2], static_cast<double>(std::numeric_limits<float>::max()));
  EXPECT_EQ(sf[3], std::numeric_limits<double>::infinity());
  EXPECT_EQ(sf[4], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(sf[5], static_cast<double>(std::numeric_limits<float>::denorm_min()));
  EXPECT_EQ(init("small_f64")[2], std::numeric_limits<double>::max());
  EXPECT_EQ(init("small_bf16")[1], -0.10009765625);  // bf16 nearest to -0.1
  EXPECT_EQ(init("small_f16")[1], 0.0999755859375);  // f16 nearest to 0.1
  EXPECT_EQ(init("small_i32")[0], -2147483648.0);
  EXPECT_EQ(init("small_bool").data(), (std::vector<double>{1, 0, 1}));
  EXPECT_TRUE(std::isnan(init("scalar")[0]));
  EXPECT_EQ(init("empty").shape(), (std::vector<int64_t>{0, 3}));
  EXPECT_FALSE(m->findParam("emb")->init);
  EXPECT_FALSE(m->findParam("emb")->trainable);
}

// ---------------------------------------------------------------- modules built in code

Op* build(Function* f, OpKind kind, std::vector<Value*> operands,
          std::vector<std::pair<std::string, AttrValue>> attrs = {},
          std::vector<TensorType> declared = {}) {
  auto r = f->addOp(OpSpec{kind, std::move(operands), std::move(attrs), std::move(declared), {}});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : nullptr;
}

TensorType ty(DType dt, Shape s) { return TensorType{dt, std::move(s)}; }

TEST(TextRoundTrip, BuiltModuleWithEveryAttributeKind) {
  Module m("built");
  m.meshes.push_back(Mesh::make("m", {{"dp", 2}, {"tp", 2}}));
  Mesh r = Mesh::make("r", {{"x", 3}});
  r.devices = {2, 0, 1};
  m.meshes.push_back(r);
  auto sub = Mesh::subMesh("s", m.meshes[0], {{"tp", 1}});
  ASSERT_TRUE(sub.isOk());
  m.meshes.push_back(*sub);
  m.symbols.push_back({"B", 4, {}});
  Dim B = Dim::symbol("B");

  Function* f = m.addFunction("main");
  Sharding sx;
  sx.mesh = "m";
  sx.dims = {DimSharding{{"dp", "tp"}, false, 3}, DimSharding{{}, true, std::nullopt}};
  Value* x = f->addArgument(ty(DType::F32, {B, 6}), "x", sx);
  Value* ids = f->addArgument(ty(DType::I64, {B}), "");  // unnamed: printed as a number

  Op* neg = build(f, OpKind::Neg, {x});
  Op* red = build(f, OpKind::ReduceSum, {neg->result()},
                  {{"axes", std::vector<int64_t>{-1}}, {"keepdims", true}});
  Op* sl = build(f, OpKind::Slice, {x},
                 {{"start", std::vector<Dim>{B.divide(2), 0}},
                  {"limit", std::vector<Dim>{B, 6}},
                  {"stride", std::vector<int64_t>{1, 2}}});
  Op* cast = build(f, OpKind::Cast, {sl->result()}, {{"dtype", DType::F16}});
  Op* gelu =
      build(f, OpKind::Gelu, {x}, {{"approximate", makeEnum(kGeluApproxEnum, GeluApprox::Tanh)}});
  Op* full = build(f, OpKind::Full, {}, {{"value", -0.1}}, {ty(DType::F64, {2})});
  auto t = std::make_shared<const Tensor>(Tensor(DType::I32, {3}, {7, -8, 9}));
  Op* cst = build(f, OpKind::Constant, {}, {{"value", TensorAttr{t}}});
  Op* ar = build(f, OpKind::AllReduce, {gelu->result()},
                 {{"axes", AxisList{{"tp", "dp"}}}, {"mesh", MeshRef{"m"}}});
  Sharding sp;
  sp.mesh = "m";
  sp.dims = {DimSharding{{"dp"}, false, std::nullopt}, DimSharding{}};
  sp.partial = {{"tp", PartialKind::Max}};
  ar->result()->setSharding(sp);
  Op* oh = build(f, OpKind::OneHot, {ids}, {{"depth", int64_t{5}}, {"dtype", DType::Bool}});
  Op* am = build(f, OpKind::Argmax, {x}, {{"axis", int64_t{-1}}, {"keepdims", false}});
  ASSERT_TRUE(neg && red && sl && cast && gelu && full && cst && ar && oh && am);
  neg->result()->setName("n");
  full->result()->setName("f");
  f->setResults({red->result(), cast->result(), cst->result()});

  const std::string expected =
      "module @built {\n"
      "  mesh @m = <dp=2, tp=2>\n"
      "  mesh @r = <x=3> devices=[2,0,1]\n"
      "  mesh @s = @m[tp=1]\n"
      "  sym B divisible_by 4\n"
      "\n"
      "  func @main(%x: f32[B,6] @m{(dp,tp):p3, ?}, %0: i64[B]) -> (f32[B,1], f16[B/2,3], i32[3]) "
      "{\n"
      "    %n = neg %x : f32[B,6]\n"
      "    %1 = reduce_sum %n axes=[-1] keepdims=true : f32[B,1]\n"
      "    %2 = slice %x start=[B/2,0] limit=[B,6] stride=[1,2] : f32[B/2,3]\n"
      "    %3 = cast %2 dtype=f16 : f16[B/2,3]\n"
      "    %4 = gelu %x approximate=tanh : f32[B,6]\n"
      "    %f = full value=-0.1 : f64[2]\n"
      "    %5 = constant value=dense<i32[3], [7, -8, 9]> : i32[3]\n"
      "    %6 = all_reduce %4 axes=[tp,dp] mesh=@m : f32[B,6] @m{dp, -} partial{tp:max}\n"
      "    %7 = one_hot %0 depth=5 dtype=bool : bool[B,5]\n"
      "    %8 = argmax %x axis=-1 keepdims=false : i64[B]\n"
      "    return %1, %3, %5\n"
      "  }\n"
      "}\n";
  std::string printed = printModule(m);
  EXPECT_EQ(printed, expected);
  auto back = parseOrDie(printed);
  ASSERT_TRUE(back);
  EXPECT_EQ(printModule(*back), printed);
  // The parsed copy holds the same typed values as the original.
  const Function* g = back->findFunction("main");
  EXPECT_EQ(g->argument(0)->sharding(), sx);
  EXPECT_EQ(g->ops()[7]->result()->sharding(), sp);
  EXPECT_EQ(*g->ops()[2]->attr("start"), *sl->attr("start"));
  EXPECT_EQ(g->ops()[5]->floatAttr("value"), -0.1);
  EXPECT_EQ(*g->ops()[6]->attr("value"), *cst->attr("value"));
  EXPECT_EQ(back->meshes[1].devices, (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(back->meshes[2].devices, (std::vector<int64_t>{1, 3}));
}

TEST(TextRoundTrip, ValueNamesAvoidCollisionsAndDuplicates) {
  Module m("names");
  Function* f = m.addFunction("f");
  Value* a = f->addArgument(ty(DType::F32, {2}), "1");  // a numeric name that is unique: kept
  Value* b = f->addArgument(ty(DType::F32, {2}), "dup");
  Value* c = f->addArgument(ty(DType::F32, {2}), "dup");       // duplicates: both renumbered
  Value* d = f->addArgument(ty(DType::F32, {2}), "bad name");  // invalid characters: renumbered
  f->setResults({a, b, c, d});
  EXPECT_EQ(printModule(m),
            "module @names {\n"
            "  func @f(%1: f32[2], %0: f32[2], %2: f32[2], %3: f32[2]) -> (f32[2], f32[2], f32[2], "
            "f32[2]) {\n"
            "    return %1, %0, %2, %3\n"
            "  }\n"
            "}\n");
}

TEST(TextRoundTrip, ParamsOfEveryDTypeWithAndWithoutInit) {
  Module m("p");
  uint64_t state = 12345;
  auto rnd = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 11;
  };
  for (DType dt : kAllDTypes) {
    for (int64_t n : {int64_t{3}, int64_t{16}, int64_t{17}, int64_t{40}}) {
      std::vector<double> v;
      for (int64_t i = 0; i < n; ++i) {
        uint64_t bits = rnd();
        double x = 0;
        if (dt == DType::F64) {
          std::memcpy(&x, &bits, 8);
          if (std::isnan(x)) x = 1.0 / 3;
        } else if (isFloat(dt)) {
          uint32_t b32 = static_cast<uint32_t>(bits);
          float fl;
          std::memcpy(&fl, &b32, 4);
          x = std::isnan(fl) ? 0.7 : fl;
        } else if (dt == DType::I64) {
          x = static_cast<double>(static_cast<int64_t>(bits % (uint64_t{1} << 53)) -
                                  (int64_t{1} << 52));
        } else if (dt == DType::I32) {
          x = static_cast<int32_t>(static_cast<uint32_t>(bits));
        } else {
          x = static_cast<double>(bits & 1);
        }
        if (isFloat(dt) && i == 1) x = -0.0;  // the sign of zero must survive too
        v.push_back(x);
      }
      Parameter p;
      p.name = std::string(dtypeName(dt)) + "_" + std::to_string(n);
      p.type = ty(dt, {n});
      p.init = std::make_shared<const Tensor>(Tensor(dt, {n}, v));
      p.trainable = n != 16;
      m.params.push_back(p);
    }
    Parameter bare;
    bare.name = std::string(dtypeName(dt)) + "_none";
    bare.type = ty(dt, {Dim::symbol("N"), 2});
    m.params.push_back(bare);
  }
  std::string printed = printModule(m);
  EXPECT_NE(printed.find("  param @f32_17 : f32[17] = dense<f32[17], 0x"), std::string::npos);
  EXPECT_NE(printed.find("  param @f32_16 : f32[16] frozen = dense<f32[16], ["), std::string::npos);
  EXPECT_NE(printed.find("  param @bool_none : bool[N,2]\n"), std::string::npos);
  auto back = parseOrDie(printed);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->params.size(), m.params.size());
  for (size_t i = 0; i < m.params.size(); ++i) {
    SCOPED_TRACE(m.params[i].name);
    EXPECT_EQ(back->params[i].type, m.params[i].type);
    EXPECT_EQ(back->params[i].trainable, m.params[i].trainable);
    ASSERT_EQ(static_cast<bool>(back->params[i].init), static_cast<bool>(m.params[i].init));
    if (!m.params[i].init) continue;
    const Tensor& want = *m.params[i].init;
    const Tensor& got = *back->params[i].init;
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(got.dtype(), want.dtype());
    // Bit-exact, so -0.0 and 0.0 differ.
    EXPECT_EQ(std::memcmp(got.data().data(), want.data().data(), want.data().size() * 8), 0);
  }
  EXPECT_EQ(printModule(*back), printed);
}

}  // namespace
}  // namespace tessera::ir
