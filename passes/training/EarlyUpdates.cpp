// scheduleUpdatesEarly (EarlyUpdates.h).
#include "passes/training/EarlyUpdates.h"

#include <map>
#include <vector>

namespace tessera::passes {

void scheduleUpdatesEarly(ir::Function& f, size_t tailStart) {
  const auto& ops = f.ops();
  if (tailStart >= ops.size()) return;
  std::map<const ir::Op*, size_t> headIndex;
  for (size_t i = 0; i < tailStart; ++i) headIndex[ops[i].get()] = i;
  // Where a tail op may go, as far as operand v is concerned: after v's definition; and for a
  // function argument (a parameter or optimizer state, which the update overwrites in place),
  // after the last head op that still reads it. -1: anywhere.
  auto earliestAfter = [&](const ir::Value* v) {
    long last = -1;
    if (v->definingOp()) {
      if (auto it = headIndex.find(v->definingOp()); it != headIndex.end())
        last = static_cast<long>(it->second);
      return last;
    }
    for (const ir::Use& u : v->uses())
      if (auto it = headIndex.find(u.user); it != headIndex.end())
        last = std::max(last, static_cast<long>(it->second));
    return last;
  };
  // after[i + 1]: the tail ops placed right after head op i (after[0]: before every head op).
  std::vector<std::vector<ir::Op*>> after(tailStart + 1);
  std::map<const ir::Op*, long> anchor;
  for (size_t i = tailStart; i < ops.size(); ++i) {
    ir::Op* op = ops[i].get();
    long a = -1;
    for (const ir::Value* v : op->operands()) {
      a = std::max(a, earliestAfter(v));
      // A tail operand's op is placed at its own anchor, earlier in the same list if equal.
      if (auto it = anchor.find(v->definingOp()); it != anchor.end()) a = std::max(a, it->second);
    }
    anchor[op] = a;
    after[static_cast<size_t>(a + 1)].push_back(op);
  }
  std::vector<ir::Op*> order;
  order.reserve(ops.size());
  for (size_t i = 0; i <= tailStart; ++i) {
    if (i > 0) order.push_back(ops[i - 1].get());
    order.insert(order.end(), after[i].begin(), after[i].end());
  }
  f.reorderOps(order);
}

}  // namespace tessera::passes
