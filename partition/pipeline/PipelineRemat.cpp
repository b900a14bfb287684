// Activation checkpointing of a pipeline rank's step (PipelineRemat.h).
#include "partition/pipeline/PipelineRemat.h"

#include <cassert>
#include <unordered_map>

#include "partition/pipeline/PipelineForward.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematLayers.h"
#include "passes/training/IrEmitter.h"

namespace tessera::partition::pipeline {

StatusOr<bool> rematPipelineFunction(ir::Function& f, const std::vector<bool>& activationSends,
                                     const std::string& axis, passes::RematMode mode) {
  if (mode == passes::RematMode::None) return false;
  if (mode == passes::RematMode::Auto)
    return Status::error("pipeline: remat auto is not supported with pipeline parallelism (use full or "
                         "selective)");
  const int n = f.numOps();
  // The scratch copy: same ops at the same positions, then sum(root) for every float root added
  // into one scalar that becomes result 0; the roots and the old results are returned after it.
  TRY_ASSIGN(passes::FunctionCopy copy, passes::copyFunction(f));
  ir::Function& c = *copy.function;
  assert(c.numOps() == n && "copyFunction keeps every op in place");
  std::unordered_map<const ir::Value*, ir::Value*> toCopy;
  for (int i = 0; i < f.numArguments(); ++i) toCopy[f.argument(i)] = c.argument(i);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < f.ops()[i]->numResults(); ++r) toCopy[f.ops()[i]->result(r)] = c.ops()[i]->result(r);
  passes::IrEmitter e(c, Location{});
  for (int i = 0; i < c.numArguments(); ++i) e.reserveName(c.argument(i)->name());
  for (const auto& op : c.ops())
    for (int r = 0; r < op->numResults(); ++r) e.reserveName(op->result(r)->name());
  std::vector<ir::Value*> results;
  ir::Value* combined = nullptr;
  std::vector<ir::Value*> roots;
  for (const ir::Value* v : forwardRoots(f, activationSends, axis)) {
    ir::Value* cv = toCopy.at(v);
    roots.push_back(cv);
    if (!ir::isFloat(cv->type().dtype)) continue;
    TRY_ASSIGN(ir::Value * term, e.sumAll(cv));
    TRY_ASSIGN(term, e.castIfNeeded(term, ir::DType::F32));
    if (combined) {
      TRY_ASSIGN(combined, e.add(combined, term));
    } else {
      combined = term;
    }
  }
  if (!combined) return false;  // nothing computed forward
  results.push_back(combined);
  for (const ir::Value* r : f.results()) results.push_back(toCopy.at(r));
  results.insert(results.end(), roots.begin(), roots.end());
  c.setResults(results);

  passes::RematLayers layers = passes::findRematLayers(c);
  // Back to f's positions: drop the scratch ops (positions >= n).
  layers.forward.resize(n);
  auto keep = [n](std::vector<int>& v) {
    std::vector<int> out;
    for (int i : v)
      if (i < n) out.push_back(i);
    v = std::move(out);
  };
  std::vector<passes::RematLayer> kept;
  for (passes::RematLayer& L : layers.layers) {
    keep(L.ops);
    keep(L.candidates);
    keep(L.selective);
    if (!L.ops.empty()) kept.push_back(std::move(L));
  }
  layers.layers = std::move(kept);
  if (layers.layers.empty()) return false;
  const passes::RematChoice choice =
      mode == passes::RematMode::Full ? passes::RematChoice::Full : passes::RematChoice::Selective;
  std::vector<passes::RematChoice> choices(layers.layers.size(), choice);
  TRY_ASSIGN(passes::RematApplied applied, passes::applyRemat(f, layers, choices, nullptr));
  return !applied.clones.empty();
}

}  // namespace tessera::partition::pipeline
