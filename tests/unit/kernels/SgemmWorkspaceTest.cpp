// The own sgemm's packing workspace (codegen/runtime/gemm/Workspace.h) and its place in the
// memory report: a PackingWorkspace holds, per slot, the largest packed-A and packed-B buffer its
// parts asked for — counted by hand for a row-split and a batch-split problem, and equal to
// plannedPackingBytes; the results through a workspace equal those without one, bitwise. Then on
// whole training steps (GPT-small at its benchmark size, an odd-shaped MLP): the memory report's
// planned GEMM workspace equals what the engine's workspace really allocated (read from the
// process-wide counter of packing bytes, not from the engine), the report's total agrees with the
// measured peak within 5%, and the planned memory timeline (remat's model) carries the same total.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "codegen/Engine.h"
#include "codegen/runtime/GemmRunner.h"
#include "codegen/runtime/ThreadPool.h"
#include "codegen/runtime/gemm/Blocking.h"
#include "codegen/runtime/gemm/MicroKernel.h"
#include "codegen/runtime/gemm/Packing.h"
#include "codegen/runtime/gemm/Sgemm.h"
#include "codegen/runtime/gemm/Workspace.h"
#include "frontend/Zoo.h"
#include "launcher/RematChoice.h"
#include "passes/training/TrainStep.h"
#include "tests/support/SplitMix64.h"
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen {
namespace {

#define REQUIRE_AVX2()                                                     \
  if (!gemm::hasAvx2Fma()) GTEST_SKIP() << "no AVX2 + FMA on this CPU"

// A batched, row-major, non-transposed problem with random operands and items packed densely.
struct Batched {
  int64_t batch, m, n, k;
  std::vector<float> a, b, c;
  std::vector<int64_t> offs[3];
  Batched(int64_t batch_, int64_t m_, int64_t n_, int64_t k_)
      : batch(batch_), m(m_), n(n_), k(k_) {
    testing_support::SplitMix64 rng{static_cast<uint64_t>(batch * 7919 + m * 131 + n * 17 + k)};
    a.resize(static_cast<size_t>(batch * m * k));
    b.resize(static_cast<size_t>(batch * k * n));
    for (float& x : a) x = static_cast<float>(rng.uniform(-1, 1));
    for (float& x : b) x = static_cast<float>(rng.uniform(-1, 1));
    for (int64_t i = 0; i < batch; ++i) {
      offs[0].push_back(i * m * k * 4);
      offs[1].push_back(i * k * n * 4);
      offs[2].push_back(i * m * n * 4);
    }
  }
  GemmProblem problem() {
    c.assign(static_cast<size_t>(batch * m * n), std::nanf(""));
    GemmProblem p;
    p.m = m, p.n = n, p.k = k, p.lda = k, p.ldb = n, p.ldc = n;
    p.a = reinterpret_cast<const char*>(a.data());
    p.b = reinterpret_cast<const char*>(b.data());
    p.c = reinterpret_cast<char*>(c.data());
    p.batch = batch;
    if (batch > 1)
      for (int o = 0; o < 3; ++o) p.offsets[o] = &offs[o];
    return p;
  }
};

// Hand count on 2 threads (MC = 144, MR = 6, NR = 16, KC = 256; buffers in 64-byte granules):
//  - 120 x 64 x 64, one item: 491,520 multiply-adds (parallel), m >= 32: rows. The sgemm has 20
//    row micro-panels >= 4 x 2 threads: two parts, each packs an A block of 144 x 64 + 8 slack
//    floats = 36,896 bytes -> 36,928 in slots 0 and 1; op(B) is packed once, 64 deep x 4 panels x
//    16 = 4,096 floats = 16,384 bytes, in slot 0.
//  - 4 items of 64 x 64 x 64: batch split, 2 items per part; each part runs the sgemm alone on
//    its slot: A 36,928 bytes and B 16,384 bytes in each of slots 0 and 1.
// Together: slot 0 A 36,928 + B 16,384, slot 1 A 36,928 + B 16,384 = 106,624 bytes.
TEST(SgemmWorkspace, HoldsTheLargestRequestOfEachSlot) {
  REQUIRE_AVX2();
  ASSERT_EQ(gemm::kMC, 144);  // the hand count assumes these
  ASSERT_EQ(gemm::kPackSlack, 8);
  ThreadPool two(2);
  Batched rows(1, 120, 64, 64), items(4, 64, 64, 64);
  ASSERT_EQ(chooseGemmSplit(rows.problem(), 2), GemmSplit::Rows);
  ASSERT_EQ(chooseGemmSplit(items.problem(), 2), GemmSplit::Batch);
  EXPECT_EQ(plannedPackingBytes({rows.problem()}, 2, GemmBackend::Tessera), 2 * 36928 + 16384);
  EXPECT_EQ(plannedPackingBytes({items.problem()}, 2, GemmBackend::Tessera), 2 * 36928 + 2 * 16384);
  EXPECT_EQ(plannedPackingBytes({rows.problem(), items.problem()}, 2, GemmBackend::Tessera), 106624);
  EXPECT_EQ(plannedPackingBytes({rows.problem(), items.problem()}, 2, GemmBackend::OpenBlas), 0);
  // One thread: everything in slot 0, the largest of each: A 36,928, B 16,384.
  EXPECT_EQ(plannedPackingBytes({rows.problem(), items.problem()}, 1, GemmBackend::Tessera), 36928 + 16384);

  const int64_t before = gemm::packingBytesHeld();
  std::vector<float> with[2], without[2];
  {
    gemm::PackingWorkspace ws(2);
    int i = 0;
    for (Batched* b : {&rows, &items}) {
      GemmProblem p = b->problem();
      p.workspace = &ws;
      runGemm(p, two, GemmBackend::Tessera);
      with[i++] = b->c;
    }
    EXPECT_EQ(ws.heldBytes(), 106624);
    // Running both again asks for nothing new.
    for (Batched* b : {&rows, &items}) {
      GemmProblem p = b->problem();
      p.workspace = &ws;
      runGemm(p, two, GemmBackend::Tessera);
    }
    EXPECT_EQ(ws.heldBytes(), 106624);
    EXPECT_EQ(gemm::packingBytesHeld() - before, 106624);  // the process-wide count agrees
  }
  EXPECT_EQ(gemm::packingBytesHeld(), before);  // released with the workspace
  int i = 0;
  for (Batched* b : {&rows, &items}) {
    runGemm(b->problem(), two, GemmBackend::Tessera);  // per-thread buffers
    without[i++] = b->c;
  }
  for (int j = 0; j < 2; ++j) {
    ASSERT_EQ(with[j].size(), without[j].size());
    EXPECT_EQ(0, std::memcmp(with[j].data(), without[j].data(), with[j].size() * 4)) << j;
  }
  // And the values are right: one element of each against a double-accumulated dot product.
  for (Batched* b : {&rows, &items}) {
    int64_t item = b->batch - 1, r = b->m - 1, col = b->n / 2;
    double want = 0;
    for (int64_t p = 0; p < b->k; ++p)
      want += double(b->a[item * b->m * b->k + r * b->k + p]) * b->b[item * b->k * b->n + p * b->n + col];
    EXPECT_NEAR(b->c[item * b->m * b->n + r * b->n + col], want, 1e-4);
  }
}

struct Step {
  std::unique_ptr<ir::Module> m;
  passes::TrainStepInfo info;
};

Step buildStep(const std::string& model, std::map<std::string, std::string> opts) {
  Step s;
  auto m = frontend::buildZooModel(model, opts);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return s;
  s.m = std::move(*m);
  auto info = passes::buildTrainStep(*s.m, passes::TrainStepOptions{});
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (info.isOk()) s.info = *info;
  return s;
}

// One training step on the compiled engine (2 threads, the default GEMM): the planned GEMM
// workspace against what the engine's workspace allocated, and the report against the measured
// peak. Returns the planned workspace (0 on failure).
int64_t checkStep(Step& s, const std::map<std::string, ir::Tensor>& inputs) {
  EngineOptions o = testing::compiledOptions();
  o.parameters.insert(s.info.params.begin(), s.info.params.end());
  o.optimizerState.insert(s.info.state.begin(), s.info.state.end());
  const int64_t before = gemm::packingBytesHeld();
  auto e = Engine::compile(*s.m, s.info.function, o);
  EXPECT_TRUE(e.isOk()) << e.status().message();
  if (!e.isOk()) return 0;
  std::vector<std::string> carried = s.info.params;
  carried.insert(carried.end(), s.info.state.begin(), s.info.state.end());
  for (size_t i = 0; i < carried.size(); ++i)
    EXPECT_TRUE((*e)->aliasResult(static_cast<int>(i + 1), carried[i]).isOk());
  auto syms = (*e)->symbolsFor(inputs);
  EXPECT_TRUE(syms.isOk()) << syms.status().message();
  auto rep = (*e)->memoryReport(*syms);
  EXPECT_TRUE(rep.isOk()) << rep.status().message();
  if (!syms.isOk() || !rep.isOk()) return 0;
  EXPECT_EQ(gemm::packingBytesHeld(), before);  // nothing packed before the first run
  auto r = (*e)->run(inputs);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  const int64_t measuredPacking = gemm::packingBytesHeld() - before;
  EXPECT_GT(rep->gemmWorkspaceBytes, 0);
  EXPECT_EQ(rep->gemmWorkspaceBytes, measuredPacking) << rep->str();
  EXPECT_EQ(rep->peakBytes, rep->argumentBytes + rep->arenaBytes + rep->gemmWorkspaceBytes);
  EXPECT_GE(rep->bytesByCategory[static_cast<int>(MemCategory::Workspace)], rep->gemmWorkspaceBytes);
  EXPECT_NE(rep->str().find("gemm packing"), std::string::npos);
  const double planned = static_cast<double>(rep->peakBytes);
  const double measured = static_cast<double>((*e)->measuredPeakBytes());
  EXPECT_NEAR(measured, planned, 0.05 * planned) << rep->str();
  // A second step holds no more.
  EXPECT_TRUE((*e)->run(inputs).isOk());
  EXPECT_EQ(gemm::packingBytesHeld() - before, measuredPacking);
  // Remat's engine-backed model plans the same total.
  std::map<int, int> aliases;
  const ir::Function* f = s.m->findFunction(s.info.function);
  for (size_t i = 0; i < carried.size(); ++i)
    for (int a = 0; a < f->numArguments(); ++a)
      if (f->argument(a)->name() == carried[i]) aliases[static_cast<int>(i + 1)] = a;
  auto tl = planMemoryTimeline((*e)->executable(), *syms, aliases, o.threads);
  EXPECT_TRUE(tl.isOk()) << tl.status().message();
  if (tl.isOk()) {
    EXPECT_EQ(tl->peakBytes, rep->peakBytes);
  }
  std::printf("  planned gemm workspace %lld, measured %lld; report total %lld, measured peak "
              "%lld\n", static_cast<long long>(rep->gemmWorkspaceBytes),
              static_cast<long long>(measuredPacking), static_cast<long long>(rep->peakBytes),
              static_cast<long long>((*e)->measuredPeakBytes()));
  return rep->gemmWorkspaceBytes;
}

// Selects the own sgemm for the engine while it lives (whatever TESSERA_GEMM says).
struct OwnSgemm {
  GemmBackend was = setDefaultGemmBackend(GemmBackend::Tessera);
  ~OwnSgemm() { setDefaultGemmBackend(was); }
};
bool ownSgemmIsDefault() { return defaultGemmBackend() == GemmBackend::Tessera; }

TEST(SgemmWorkspace, GptSmallReportCountsThePackingBuffers) {
  OwnSgemm own;
  if (!ownSgemmIsDefault()) GTEST_SKIP() << "no AVX2 + FMA: OpenBLAS runs the GEMMs";
  // The benchmark's GPT-small: 4 layers, hidden 256, 4 heads, seq 128, batch 8, vocab 256.
  Step s = buildStep("gpt", {{"layers", "4"}, {"hidden", "256"}, {"heads", "4"}, {"seq", "128"},
                             {"vocab", "256"}});
  ASSERT_TRUE(s.m);
  std::map<std::string, ir::Tensor> in;
  in["tokens"] = testing::randomTensor(ir::DType::I64, {8, 128}, 1, 0, 256);
  in["targets"] = testing::randomTensor(ir::DType::I64, {8, 128}, 2, 0, 256);
  int64_t ws = checkStep(s, in);
  // At least the A blocks of both threads at full depth (144 x 256 + 8 floats, 147,520 bytes
  // each) and one packed op(B) of the 256 x 1024 MLP weight (1 MiB).
  EXPECT_GE(ws, 2 * 147520 + (1 << 20));
}

TEST(SgemmWorkspace, OddMlpReportCountsThePackingBuffers) {
  OwnSgemm own;
  if (!ownSgemmIsDefault()) GTEST_SKIP() << "no AVX2 + FMA: OpenBLAS runs the GEMMs";
  Step s = buildStep("mlp", {{"in", "37"}, {"hidden", "515"}, {"classes", "11"}, {"layers", "2"}});
  ASSERT_TRUE(s.m);
  std::map<std::string, ir::Tensor> in;
  in["x"] = testing::randomTensor(ir::DType::F32, {301, 37}, 3);
  in["labels"] = testing::randomTensor(ir::DType::I64, {301}, 4, 0, 11);
  checkStep(s, in);
}

// Remat's engine-backed memory model (launcher/RematChoice.h) plans for the thread count of the
// engine that will run the step: the packing workspace has one A block per part, so a 1-thread
// engine (an MPI rank) holds less than a 2-thread one. At each count the model's planned peak
// equals that engine's memory report, and the 1-thread engine's workspace after a step equals
// its plan to the byte. (Before, the model always planned one thread per core.)
TEST(SgemmWorkspace, RematModelPlansTheEnginesThreadCount) {
  OwnSgemm own;
  if (!ownSgemmIsDefault()) GTEST_SKIP() << "no AVX2 + FMA: OpenBLAS runs the GEMMs";
  Step s = buildStep("mlp", {{"in", "37"}, {"hidden", "515"}, {"classes", "11"}, {"layers", "2"}});
  ASSERT_TRUE(s.m);
  std::map<std::string, ir::Tensor> in;
  in["x"] = testing::randomTensor(ir::DType::F32, {301, 37}, 3);
  in["labels"] = testing::randomTensor(ir::DType::I64, {301}, 4, 0, 11);
  std::vector<std::string> carried = s.info.params;
  carried.insert(carried.end(), s.info.state.begin(), s.info.state.end());
  int64_t workspace[3] = {0, 0, 0};
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    EngineOptions o = testing::evalOptions();
    o.threads = threads;
    o.parameters.insert(s.info.params.begin(), s.info.params.end());
    o.optimizerState.insert(s.info.state.begin(), s.info.state.end());
    auto e = Engine::compile(*s.m, s.info.function, o);
    ASSERT_TRUE(e.isOk()) << e.status().message();
    for (size_t i = 0; i < carried.size(); ++i)
      ASSERT_TRUE((*e)->aliasResult(static_cast<int>(i + 1), carried[i]).isOk());
    auto syms = (*e)->symbolsFor(in);
    ASSERT_TRUE(syms.isOk()) << syms.status().message();
    auto rep = (*e)->memoryReport(*syms);
    ASSERT_TRUE(rep.isOk()) << rep.status().message();
    auto curve = launcher::EngineMemoryModel(s.info, threads)
                     .measure(*s.m->findFunction(s.info.function), *syms);
    ASSERT_TRUE(curve.isOk()) << curve.status().message();
    EXPECT_EQ(curve->peak, rep->peakBytes);
    workspace[threads] = rep->gemmWorkspaceBytes;
    if (threads == 1) {
      ASSERT_TRUE((*e)->run(in).isOk());
      EXPECT_EQ((*e)->measuredGemmWorkspaceBytes(), rep->gemmWorkspaceBytes);
    }
  }
  EXPECT_GT(workspace[1], 0);
  EXPECT_LT(workspace[1], workspace[2]);
}

}  // namespace
}  // namespace tessera::codegen
