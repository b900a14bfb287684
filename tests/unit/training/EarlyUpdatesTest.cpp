// Early optimizer updates (passes/training/EarlyUpdates.h): the same training step with each
// parameter's update moved up to where its gradient is final. Checked on the zoo GPT: the updates
// really move into the backward pass, three steps give bitwise the same losses and weights, and
// the engine's planned peak drops because gradients no longer all live until the end.
#include <gtest/gtest.h>

#include "codegen/Engine.h"
#include "frontend/Zoo.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/training/TrainStep.h"

namespace tessera {
namespace {

struct Step {
  std::unique_ptr<ir::Module> m;
  passes::TrainStepInfo info;
};

Step build(bool early) {
  Step s;
  auto m = frontend::buildZooModel("gpt", {{"layers", "2"}, {"hidden", "32"}, {"heads", "2"},
                                           {"seq", "8"}, {"vocab", "40"}});
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return s;
  s.m = std::move(*m);
  passes::TrainStepOptions o;
  o.earlyUpdates = early;
  auto info = passes::buildTrainStep(*s.m, o);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (info.isOk()) s.info = *info;
  return s;
}

// Position of the op defining result `i` of the step.
size_t positionOfResult(const ir::Function& f, int i) {
  return f.indexOf(f.results()[static_cast<size_t>(i)]->definingOp());
}

// Position of the op whose result is named `name` (autodiff names gradients grad_<param>).
size_t positionOfValue(const ir::Function& f, const std::string& name) {
  for (size_t i = 0; i < f.ops().size(); ++i)
    for (int r = 0; r < f.ops()[i]->numResults(); ++r)
      if (f.ops()[i]->result(r)->name() == name) return i;
  ADD_FAILURE() << "no value %" << name;
  return 0;
}

TEST(EarlyUpdates, UpdatesMoveIntoTheBackwardPass) {
  Step late = build(false), early = build(true);
  ASSERT_TRUE(late.m && early.m);
  EXPECT_TRUE(ir::verifyModule(*early.m).isOk());
  const ir::Function& fl = *late.m->findFunction(late.info.function);
  const ir::Function& fe = *early.m->findFunction(early.info.function);
  ASSERT_EQ(fl.numOps(), fe.numOps());
  // The last block's MLP output weight gets its gradient early in the backward pass, the first
  // block's layer-norm late. Without early updates the new weight comes after every gradient;
  // with them, before the first block's gradient exists.
  int proj = -1;
  for (size_t i = 0; i < early.info.params.size(); ++i)
    if (early.info.params[i] == "h1.mlp.proj.w") proj = static_cast<int>(1 + i);
  ASSERT_GT(proj, 0);
  EXPECT_GT(positionOfResult(fl, proj), positionOfValue(fl, "grad_h0.ln1.scale"));
  EXPECT_LT(positionOfResult(fe, proj), positionOfValue(fe, "grad_h0.ln1.scale"));
}

struct Trace {
  std::vector<double> losses;
  std::vector<ir::Tensor> finalState;  // parameters, optimizer state, step after the last step
};

// Three interpreter steps on a fixed batch, feeding new parameters and state back: result k >= 1
// is the new value of argument (batch arguments + k - 1) (TrainStep.h).
Trace train(const Step& s) {
  Trace t;
  const ir::Function& f = *s.m->findFunction(s.info.function);
  std::vector<double> tok, tgt;
  for (int i = 0; i < 16; ++i) tok.push_back((i * 7) % 40), tgt.push_back((i * 11 + 3) % 40);
  std::vector<ir::Tensor> args;
  for (int i = 0; i < f.numArguments(); ++i) {
    const std::string& n = f.argument(i)->name();
    if (n == "tokens") args.emplace_back(ir::DType::I64, std::vector<int64_t>{2, 8}, tok);
    else if (n == "targets") args.emplace_back(ir::DType::I64, std::vector<int64_t>{2, 8}, tgt);
    else args.push_back(*s.m->findParam(n)->init);
  }
  const size_t batchArgs = s.info.batchArgs.size();
  for (int step = 0; step < 3; ++step) {
    auto r = ir::interpret(f, args);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (!r.isOk()) return t;
    t.losses.push_back(r->outputs[0][0]);
    for (size_t k = 1; k < r->outputs.size(); ++k) args[batchArgs + k - 1] = r->outputs[k];
  }
  t.finalState.assign(args.begin() + static_cast<std::ptrdiff_t>(batchArgs), args.end());
  return t;
}

TEST(EarlyUpdates, ResultsAreBitwiseUnchanged) {
  Step late = build(false), early = build(true);
  ASSERT_TRUE(late.m && early.m);
  Trace a = train(late), b = train(early);
  ASSERT_EQ(a.losses.size(), 3u);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_LT(a.losses.back(), a.losses.front());  // it trains
  ASSERT_EQ(a.finalState.size(), b.finalState.size());
  for (size_t i = 0; i < a.finalState.size(); ++i)
    EXPECT_EQ(a.finalState[i], b.finalState[i]) << "argument " << i;
}

// The engine's planned peak for one step (reference kernels; no LLVM work needed for a plan).
int64_t plannedPeak(const Step& s) {
  codegen::EngineOptions o;
  o.kernels = codegen::EngineOptions::Kernels::Evaluate;
  o.diskCache = false;
  auto e = codegen::Engine::compile(*s.m, s.info.function, o);
  EXPECT_TRUE(e.isOk()) << e.status().message();
  if (!e.isOk()) return -1;
  const size_t n = s.info.params.size();
  for (size_t i = 0; i < n; ++i)
    EXPECT_TRUE((*e)->aliasResult(static_cast<int>(1 + i), s.info.params[i]).isOk());
  for (size_t j = 0; j < s.info.state.size(); ++j)
    EXPECT_TRUE((*e)->aliasResult(static_cast<int>(1 + n + j), s.info.state[j]).isOk());
  auto rep = (*e)->memoryReport({{"B", 2}, {"S", 8}});
  EXPECT_TRUE(rep.isOk()) << rep.status().message();
  return rep.isOk() ? rep->peakBytes : -1;
}

TEST(EarlyUpdates, LowerThePlannedPeak) {
  Step late = build(false), early = build(true);
  ASSERT_TRUE(late.m && early.m);
  int64_t paramBytes = 0;
  for (const std::string& p : late.info.params)
    paramBytes += late.m->findParam(p)->init->numElements() * 4;
  int64_t a = plannedPeak(late), b = plannedPeak(early);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  // Without early updates every f32 gradient is alive at once before the updates; with them at
  // most a few are. The peak must drop by a good part of the gradients' bytes.
  EXPECT_LT(b, a - paramBytes / 4) << "late " << a << ", early " << b << ", params " << paramBytes;
}

}  // namespace
}  // namespace tessera
