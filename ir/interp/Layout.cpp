// Layout helpers shared by the data-movement and contraction semantics.
#include "ir/interp/Layout.h"

#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"

namespace tessera::ir {

std::vector<double> permuteData(const Tensor& t, const std::vector<int64_t>& perm) {
  std::vector<int64_t> inStrides = t.strides();
  std::vector<int64_t> outShape, strides;
  for (int64_t p : perm) {
    outShape.push_back(t.shape()[p]);
    strides.push_back(inStrides[p]);
  }
  std::vector<double> out;
  out.reserve(t.numElements());
  const std::vector<double>& data = t.data();
  for (IndexIterator it(outShape); !it.done(); it.next())
    out.push_back(data[dotIndex(it.index(), strides)]);
  return out;
}

namespace {

// Binds the symbol of `d` if d = c*sym + e with integer c != 0 and e, and the value divides out.
void bindDim(const Dim& d, int64_t value, std::map<std::string, int64_t>& out) {
  std::vector<std::string> syms = d.symbols();
  if (syms.size() != 1) return;
  int64_t coef = 0, offset = 0;
  for (const auto& [mono, c] : d.terms()) {
    if (!c.isInteger()) return;
    if (mono.empty()) offset = c.num;
    else if (mono.size() == 1) coef = c.num;
    else return;  // a power of the symbol
  }
  if (coef == 0 || (value - offset) % coef != 0) return;
  out.emplace(syms[0], (value - offset) / coef);
}

void bindShape(const Shape& s, const std::vector<int64_t>& concrete,
               std::map<std::string, int64_t>& out) {
  if (s.size() != concrete.size()) return;
  for (size_t i = 0; i < s.size(); ++i) bindDim(s[i], concrete[i], out);
}

}  // namespace

std::map<std::string, int64_t> symbolsFromShapes(const EvalContext& ctx) {
  std::map<std::string, int64_t> out;
  for (int i = 0; i < ctx.op.numOperands() && i < static_cast<int>(ctx.operands.size()); ++i)
    bindShape(ctx.op.operand(i)->type().shape, ctx.operands[i]->shape(), out);
  for (int i = 0; i < ctx.op.numResults() && i < static_cast<int>(ctx.resultShapes.size()); ++i)
    bindShape(ctx.op.result(i)->type().shape, ctx.resultShapes[i], out);
  return out;
}

}  // namespace tessera::ir
