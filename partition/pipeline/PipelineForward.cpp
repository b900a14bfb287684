// The forward part of a pipeline rank's program (PipelineForward.h).
#include "partition/pipeline/PipelineForward.h"

#include <unordered_map>

namespace tessera::partition::pipeline {

std::vector<const ir::Value*> forwardRoots(const ir::Function& f, const std::vector<bool>& activationSends,
                                           const std::string& axis) {
  std::vector<const ir::Value*> roots;
  if (!f.results().empty()) roots.push_back(f.results()[0]);
  size_t k = 0;
  for (const auto& op : f.ops()) {
    if (op->kind() != ir::OpKind::Send || k >= activationSends.size()) continue;
    const ir::AttrValue* axes = op->attr("axes");
    if (!axes || op->attrAs<ir::AxisList>("axes").axes != std::vector<std::string>{axis}) continue;
    if (activationSends[k++]) roots.push_back(op->operand(0));
  }
  return roots;
}

std::vector<bool> forwardOps(const ir::Function& f, const std::vector<bool>& activationSends,
                             const std::string& axis) {
  const int n = f.numOps();
  std::unordered_map<const ir::Op*, int> pos;
  for (int i = 0; i < n; ++i) pos[f.ops()[i].get()] = i;
  std::vector<bool> forward(n, false);
  std::vector<const ir::Op*> work;
  for (const ir::Value* v : forwardRoots(f, activationSends, axis))
    if (const ir::Op* d = v->definingOp()) work.push_back(d);
  while (!work.empty()) {
    const ir::Op* op = work.back();
    work.pop_back();
    const int i = pos.at(op);
    if (forward[i]) continue;
    forward[i] = true;
    for (const ir::Value* o : op->operands())
      if (o->definingOp()) work.push_back(o->definingOp());
  }
  return forward;
}

}  // namespace tessera::partition::pipeline
