// Every collective kind and element type on the compiled engine under MPI, against the meaning of
// the program: the in-process simulation of all ranks (partition/exec/, the interpreter with
// simulated collectives — an implementation independent of the engine's), which every rank runs
// for itself because it can compute every rank's input from a formula. Results must be bitwise
// equal (both reduce in group order in double and round once), with async collectives on and off,
// with and without gradient bucketing (and with a byte cap that cuts the bucket), with every
// all_reduce in two phases (TwoPhaseReduce.h) and in one, and through the interpreter's MPI rank
// runtime (makeRankRuntime). The mesh is a=1,b=2 on 2
// ranks (a group of one along a) and a=2,b=2 on 4, so the collectives run over one axis, both
// axes, and both axes listed in the other order.
#include <gtest/gtest.h>

#include "codegen/dist/RankContext.h"
#include "ir/Interpreter.h"
#include "partition/exec/InProcessExecutor.h"
#include "tests/mpi/engine/EngineDistUtil.h"

namespace tessera::engine_dist_test {
namespace {

using ir::DType;
using ir::Tensor;

std::string shape(const std::string& dt, std::vector<int64_t> s) {
  std::string out = dt + "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// The module: %x [4,4,2] and %y [3] (3 elements: bool and f16 payloads that are not whole words).
std::string collectivesModule(const std::string& dt, int n) {
  const int a = n / 2;
  std::string cyclic;
  for (int i = 0; i < n; ++i)
    cyclic += (i ? "," : "") + std::to_string(i) + "," + std::to_string((i + 1) % n);
  struct R {
    std::string name, text;
    std::vector<int64_t> shape;
  };
  std::vector<R> rs = {
      {"ar", "all_reduce %x axes=[b] op=sum", {4, 4, 2}},
      {"ar2", "all_reduce %y axes=[b] op=sum", {3}},  // with ar and ar3: one bucket
      {"ar3", "all_reduce %x axes=[b] op=sum", {4, 4, 2}},
      {"mx", "all_reduce %x axes=[a,b] op=max", {4, 4, 2}},
      {"mn", "all_reduce %x axes=[b,a] op=min", {4, 4, 2}},
      {"rs0", "reduce_scatter %x axes=[b] dim=0 op=sum", {2, 4, 2}},
      {"rs1", "reduce_scatter %x axes=[a,b] dim=1 op=sum", {4, 4 / n, 2}},
      {"rs2", "reduce_scatter %x axes=[b] dim=-1 op=max", {4, 4, 1}},
      {"ag0", "all_gather %x axes=[b] dim=0", {8, 4, 2}},
      {"ag1", "all_gather %x axes=[b,a] dim=1", {4, 4 * n, 2}},
      {"ag2", "all_gather %x axes=[a,b] dim=2", {4, 4, 2 * n}},
      {"t1", "all_to_all %x axes=[b] split_dim=1 concat_dim=2", {4, 2, 4}},
      {"t2", "all_to_all %x axes=[a,b] split_dim=0 concat_dim=0", {4, 4, 2}},
      {"t3", "all_to_all %x axes=[b,a] split_dim=1 concat_dim=0", {4 * n, 4 / n, 2}},
      {"p1", "collective_permute %x axes=[b] pairs=[0,1]", {4, 4, 2}},
      {"p2", "collective_permute %x axes=[a,b] pairs=[" + cyclic + "]", {4, 4, 2}},
      {"bc", "broadcast %x axes=[a,b] root=" + std::to_string(n - 1), {4, 4, 2}},
      {"yr", "all_reduce %y axes=[a,b] op=sum", {3}},
      {"yg", "all_gather %y axes=[b] dim=0", {6}},
      {"yp", "collective_permute %y axes=[a,b] pairs=[" + cyclic + "]", {3}},
      {"yb", "broadcast %y axes=[b] root=1", {3}},
  };
  // Every result flattened into one concat: the collectives then have a consumer that is not a
  // function result, so the async schedule splits them all (starts at the top, dones before the
  // concat: all of them in flight at once).
  std::string body, parts;
  int64_t total = 0;
  for (const R& r : rs) {
    int64_t numel = ir::numElementsOf(r.shape);
    body += "    %" + r.name + " = " + r.text + " : " + shape(dt, r.shape) + "\n";
    body += "    %f_" + r.name + " = reshape %" + r.name + " : " + shape(dt, {numel}) + "\n";
    parts += (parts.empty() ? "%f_" : ", %f_") + r.name;
    total += numel;
  }
  return "module @c {\n  mesh @m = <a=" + std::to_string(a) + ", b=2>\n  func @main(%x: " +
         shape(dt, {4, 4, 2}) + ", %y: " + shape(dt, {3}) + ") -> (" + shape(dt, {total}) +
         ", i64[], i64[]) {\n" + body + "    %all = concat " + parts + " axis=0 : " +
         shape(dt, {total}) + "\n" +
         "    %ix = axis_index axes=[b,a] : i64[]\n    %ib = axis_index axes=[b] : i64[]\n"
         "    return %all, %ix, %ib\n  }\n}\n";
}

std::vector<Tensor> inputsOf(DType t, int rank) {
  return {inputOf(t, {4, 4, 2}, 11, rank), inputOf(t, {3}, 12, rank)};
}

// Every rank's outputs by the in-process simulation.
std::vector<std::vector<Tensor>> simulate(const ir::Module& m, const char* fn) {
  const ir::Function* f = m.findFunction(fn);
  std::vector<const ir::Function*> programs(world().size(), f);
  std::vector<std::vector<Tensor>> inputs;
  for (int r = 0; r < world().size(); ++r) inputs.push_back(inputsOf(f->argument(0)->type().dtype, r));
  auto out = partition::runRanks(m.meshes[0], programs, inputs);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  return out.isOk() ? *out : std::vector<std::vector<Tensor>>{};
}

StatusOr<std::vector<Tensor>> runEngine(const ir::Module& m, codegen::RankContext& rank,
                                        const std::vector<Tensor>& in) {
  codegen::EngineOptions o;
  o.threads = 1;
  o.rank = &rank;
  TRY_ASSIGN(auto engine, codegen::Engine::compile(m, "main", o));
  return engine->run({{"x", in[0]}, {"y", in[1]}});
}

class EngineCollectives : public ::testing::TestWithParam<const char*> {};

TEST_P(EngineCollectives, EqualTheSimulationOnEveryRank) {
  const int n = world().size(), me = world().rank();
  DType t = *ir::parseDType(GetParam());
  auto m = parse(collectivesModule(GetParam(), n));
  ASSERT_TRUE(m);
  auto want = simulate(*m, "main");
  ASSERT_EQ(static_cast<int>(want.size()), n);
  auto rank = codegen::RankContext::create(world(), m->meshes[0], *m->findFunction("main"));
  ASSERT_TRUE(rank.isOk()) << rank.status().message();
  struct Mode {
    bool async;
    int64_t bucketBytes;  // 100: the bucket is cut at x's 128 bytes (f32) or after y
    bool twoPhase;        // every all_reduce (and bucket) in two phases, even over 2 ranks
  };
  const codegen::DistOptions defaults;
  for (Mode mode : {Mode{true, 4 << 20, false}, Mode{true, 100, false}, Mode{true, 0, false},
                    Mode{false, 0, false}, Mode{true, 4 << 20, true}, Mode{true, 100, true},
                    Mode{true, 0, true}, Mode{false, 0, true}}) {
    const bool async = mode.async;
    (*rank)->options.async = async;
    (*rank)->options.bucketBytes = mode.bucketBytes;
    (*rank)->options.twoPhaseMinBytes = mode.twoPhase ? 0 : defaults.twoPhaseMinBytes;
    (*rank)->options.twoPhaseMinRanks = mode.twoPhase ? 2 : defaults.twoPhaseMinRanks;
    codegen::DistStats before = (*rank)->stats();
    auto got = runEngine(*m, **rank, inputsOf(t, me));
    ASSERT_TRUE(got.isOk()) << got.status().message();
    ASSERT_EQ(got->size(), want[me].size());
    for (size_t k = 0; k < got->size(); ++k)
      expectIdentical((*got)[k], want[me][k],
                      std::string(async ? "async" : "blocking") +
                          (mode.twoPhase ? " two-phase" : "") + " result " + std::to_string(k));
    codegen::DistStats after = (*rank)->stats();
    // 21 collectives; with bucketing the three all_reduces over b share calls.
    EXPECT_EQ(after.collectives - before.collectives, 21);
    if (mode.bucketBytes == 4 << 20) {
      EXPECT_EQ(after.calls - before.calls, 19);
    } else if (mode.bucketBytes == 0) {
      EXPECT_EQ(after.calls - before.calls, 21);
    }
    if (async) {  // every collective split into a start and a done thunk
      int starts = 0, dones = 0;
      codegen::EngineOptions o;
      o.threads = 1;
      o.rank = rank->get();
      auto e = codegen::Engine::compile(*m, "main", o);
      ASSERT_TRUE(e.isOk());
      for (const codegen::Thunk& th : (*e)->executable().thunks) {
        starts += th.label.rfind("start collective", 0) == 0;
        dones += th.label.rfind("done collective", 0) == 0;
      }
      EXPECT_EQ(starts, 21);
      EXPECT_EQ(dones, 21);
    }
  }
  // The reference interpreter running this rank through the same communicators (with two-phase
  // all_reduces, the last mode's options).
  auto runtime = codegen::makeRankRuntime(**rank);
  auto interp = ir::interpret(*m->findFunction("main"), inputsOf(t, me), *runtime);
  ASSERT_TRUE(interp.isOk()) << interp.status().message();
  for (size_t k = 0; k < interp->outputs.size(); ++k)
    expectIdentical(interp->outputs[k], want[me][k], "interpreter result " + std::to_string(k));
}

INSTANTIATE_TEST_SUITE_P(Types, EngineCollectives,
                         ::testing::Values("f32", "f64", "i64", "i32", "bool", "f16"),
                         [](const auto& p) { return std::string(p.param); });

// Symbolic dims: the batch B is bound at run time; collectives get their sizes from the runtime.
TEST(EngineCollectivesSymbolic, BatchBoundAtRunTime) {
  const int n = world().size(), me = world().rank();
  std::string text = "module @c {\n  mesh @m = <a=" + std::to_string(n / 2) +
                     ", b=2>\n  sym B\n  func @main(%x: f32[B,4]) -> (f32[B,4], f32[2*B,4], "
                     "f32[B,2]) {\n"
                     "    %s = all_reduce %x axes=[a,b] op=sum : f32[B,4]\n"
                     "    %g = all_gather %x axes=[b] dim=0 : f32[2*B,4]\n"
                     "    %r = reduce_scatter %x axes=[b] dim=1 op=sum : f32[B,2]\n"
                     "    return %s, %g, %r\n  }\n}\n";
  auto m = parse(text);
  ASSERT_TRUE(m);
  auto rank = codegen::RankContext::create(world(), m->meshes[0], *m->findFunction("main"));
  ASSERT_TRUE(rank.isOk()) << rank.status().message();
  codegen::EngineOptions o;
  o.threads = 1;
  o.rank = rank->get();
  auto engine = codegen::Engine::compile(*m, "main", o);
  ASSERT_TRUE(engine.isOk()) << engine.status().message();
  for (int64_t b : {3, 5}) {
    std::vector<const ir::Function*> programs(n, m->findFunction("main"));
    std::vector<std::vector<Tensor>> inputs;
    for (int r = 0; r < n; ++r) inputs.push_back({inputOf(DType::F32, {b, 4}, 20 + b, r)});
    auto want = partition::runRanks(m->meshes[0], programs, inputs);
    ASSERT_TRUE(want.isOk()) << want.status().message();
    auto got = (*engine)->run({{"x", inputs[me][0]}});
    ASSERT_TRUE(got.isOk()) << got.status().message();
    for (size_t k = 0; k < got->size(); ++k)
      expectIdentical((*got)[k], (*want)[me][k], "B=" + std::to_string(b) + " result " +
                                                     std::to_string(k));
  }
}

// send/recv: ranks at b=0 run @sender, ranks at b=1 run @receiver (a pipeline-like pair per a).
// Two messages in order, the second 3 bools (not a whole word).
TEST(EngineSendRecv, ArriveInOrderAtThePeer) {
  const int me = world().rank();
  const bool sender = me % 2 == 0;
  std::string text = "module @c {\n  mesh @m = <a=" + std::to_string(world().size() / 2) +
                     ", b=2>\n"
                     "  func @sender(%x: f32[4,3], %y: bool[3]) -> (f32[4,3]) {\n"
                     "    send %x axes=[b] peer=1\n    send %y axes=[b] peer=1\n"
                     "    return %x\n  }\n"
                     "  func @receiver(%x: f32[4,3], %y: bool[3]) -> (f32[4,3], bool[3]) {\n"
                     "    %r = recv axes=[b] peer=0 : f32[4,3]\n"
                     "    %s = recv axes=[b] peer=0 : bool[3]\n"
                     "    return %r, %s\n  }\n}\n";
  auto m = parse(text);
  ASSERT_TRUE(m);
  const char* fn = sender ? "sender" : "receiver";
  auto rank = codegen::RankContext::create(world(), m->meshes[0], *m->findFunction(fn));
  ASSERT_TRUE(rank.isOk()) << rank.status().message();
  codegen::EngineOptions o;
  o.threads = 1;
  o.rank = rank->get();
  auto engine = codegen::Engine::compile(*m, fn, o);
  ASSERT_TRUE(engine.isOk()) << engine.status().message();
  Tensor x = inputOf(DType::F32, {4, 3}, 30, me), y = inputOf(DType::Bool, {3}, 31, me);
  auto got = (*engine)->run({{"x", x}, {"y", y}});
  ASSERT_TRUE(got.isOk()) << got.status().message();
  if (!sender) {
    expectIdentical((*got)[0], inputOf(DType::F32, {4, 3}, 30, me - 1), "recv f32");
    expectIdentical((*got)[1], inputOf(DType::Bool, {3}, 31, me - 1), "recv bool");
  }
}

TEST(EngineCollectivesErrors, MeshOfTheWrongSizeIsRejectedBeforeAnyCollective) {
  auto m = parse("module @c {\n  mesh @m = <b=3>\n  func @main(%x: f32[3]) -> (f32[3]) {\n"
                 "    %s = all_reduce %x axes=[b] op=sum : f32[3]\n    return %s\n  }\n}\n");
  ASSERT_TRUE(m);
  auto rank = codegen::RankContext::create(world(), m->meshes[0], *m->findFunction("main"));
  ASSERT_FALSE(rank.isOk());
  EXPECT_NE(rank.status().message().find("the mesh has 3 devices, but the job has " +
                                         std::to_string(world().size()) + " ranks"),
            std::string::npos)
      << rank.status().message();
}

TEST(EngineCollectivesErrors, WithoutARankContextCollectivesAreAClearError) {
  auto m = parse("module @c {\n  mesh @m = <b=2>\n  func @main(%x: f32[3]) -> (f32[3]) {\n"
                 "    %s = all_reduce %x axes=[b] op=sum : f32[3]\n    return %s\n  }\n}\n");
  ASSERT_TRUE(m);
  codegen::EngineOptions o;
  o.threads = 1;
  auto engine = codegen::Engine::compile(*m, "main", o);
  ASSERT_TRUE(engine.isOk()) << engine.status().message();
  auto r = (*engine)->run({{"x", inputOf(DType::F32, {3}, 1, 0)}});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("needs the distributed runtime"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace tessera::engine_dist_test
