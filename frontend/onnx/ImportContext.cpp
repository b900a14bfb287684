// The import state and the folding op builder (see ImportContext.h).
#include "frontend/onnx/ImportContext.h"

#include <cmath>

#include "ir/OpRules.h"

namespace tessera::frontend::onnximport {

using ir::Dim;
using ir::DType;
using ir::Tensor;
using ir::TensorType;

namespace {

TensorType typeOf(const Tensor& t) {
  TensorType type{t.dtype(), {}};
  for (int64_t d : t.shape()) type.shape.push_back(Dim(d));
  return type;
}

// Dims of a small integer tensor of rank <= 1, from its (double) values.
std::optional<std::vector<Dim>> dimsOf(const Tensor& t) {
  if (!ir::isInteger(t.dtype()) || t.rank() > 1 || t.numElements() > kMaxDimsLength)
    return std::nullopt;
  std::vector<Dim> dims;
  for (double v : t.data()) dims.push_back(Dim(static_cast<int64_t>(v)));
  return dims;
}

// Constant dims whose shape is fully known: the shape of a tensor we can fold into.
std::optional<std::vector<int64_t>> concreteShape(const TensorType& t) {
  std::vector<int64_t> out;
  for (const Dim& d : t.shape) {
    auto c = d.constant();
    if (!c) return std::nullopt;
    out.push_back(*c);
  }
  return out;
}

}  // namespace

std::optional<std::vector<int64_t>> Entry::constInts() const {
  if (!dims) return std::nullopt;
  std::vector<int64_t> out;
  for (const Dim& d : *dims) {
    auto c = d.constant();
    if (!c) return std::nullopt;
    out.push_back(*c);
  }
  return out;
}

Entry constantEntry(Tensor t, const std::vector<int64_t>* exactInts) {
  Entry e;
  e.type = typeOf(t);
  if (exactInts && ir::isInteger(t.dtype()) && t.rank() <= 1 &&
      static_cast<int64_t>(exactInts->size()) <= kMaxDimsLength) {
    std::vector<Dim> dims;
    for (int64_t v : *exactInts) dims.push_back(Dim(v));
    e.dims = std::move(dims);
  } else {
    e.dims = dimsOf(t);
  }
  e.constant = std::make_shared<const Tensor>(std::move(t));
  return e;
}

Entry dimsEntry(std::vector<Dim> dims, bool scalar, DType dtype) {
  assert(!scalar || dims.size() == 1);
  Entry e;
  e.type = TensorType{dtype, {}};
  if (!scalar) e.type.shape.push_back(Dim(static_cast<int64_t>(dims.size())));
  std::vector<double> values;
  bool allConstant = true;
  for (const Dim& d : dims) {
    auto c = d.constant();
    if (!c) {
      allConstant = false;
      break;
    }
    values.push_back(static_cast<double>(*c));
  }
  if (allConstant) {
    std::vector<int64_t> shape;
    if (!scalar) shape.push_back(static_cast<int64_t>(dims.size()));
    e.constant = std::make_shared<const Tensor>(dtype, shape, std::move(values));
  }
  e.dims = std::move(dims);
  return e;
}

StatusOr<ir::Value*> ImportContext::materialize(const Entry& e, const Location& loc) {
  if (e.value) return e.value;
  if (!e.constant) {
    std::string dims;
    for (const Dim& d : *e.dims) dims += (dims.empty() ? "" : ", ") + d.str();
    return Status::error(loc, "unsupported: the shape value [" + dims +
                                  "] depends on symbolic dims and is used as a run-time tensor; "
                                  "Tessera folds shape values only into shape operands");
  }
  auto it = materialized_.find(e.constant.get());
  if (it != materialized_.end()) return it->second;
  ir::OpSpec spec{ir::OpKind::Constant, {}, {{"value", ir::TensorAttr{e.constant}}}, {}, loc};
  TRY_ASSIGN(ir::Op * op, func.addOp(std::move(spec)));
  materialized_[e.constant.get()] = op->result();
  return op->result();
}

StatusOr<std::vector<Entry>> ImportContext::emitN(
    ir::OpKind kind, const std::vector<Entry>& operands,
    std::vector<std::pair<std::string, ir::AttrValue>> attrs, std::vector<TensorType> declared,
    const Location& loc) {
  bool allConstant = true;
  for (const Entry& e : operands) allConstant = allConstant && e.isConstant();
  if (allConstant) {
    // Build the op in a scratch function (so its shape rule runs) and evaluate it now.
    ir::Module scratch;
    ir::Function* f = scratch.addFunction("fold");
    std::vector<ir::Value*> vals;
    std::vector<const Tensor*> ptrs;
    for (const Entry& e : operands) {
      ir::OpSpec c{ir::OpKind::Constant, {}, {{"value", ir::TensorAttr{e.constant}}}, {}, loc};
      TRY_ASSIGN(ir::Op * cop, f->addOp(std::move(c)));
      vals.push_back(cop->result());
      ptrs.push_back(e.constant.get());
    }
    ir::OpSpec spec{kind, vals, attrs, declared, loc};
    TRY_ASSIGN(ir::Op * op, f->addOp(std::move(spec)));
    std::vector<std::vector<int64_t>> shapes;
    std::vector<DType> dtypes;
    bool foldable = !op->info().hasSideEffect() && op->info().eval != nullptr;
    for (int i = 0; i < op->numResults() && foldable; ++i) {
      auto shape = concreteShape(op->result(i)->type());
      if (!shape || ir::numElementsOf(*shape) > kMaxFoldElements) {
        foldable = false;
        break;
      }
      shapes.push_back(*shape);
      dtypes.push_back(op->result(i)->type().dtype);
    }
    if (foldable) {
      ir::EvalContext ctx{*op, ptrs, shapes, dtypes, nullptr};
      TRY_ASSIGN(std::vector<Tensor> outs, op->info().eval(ctx));
      std::vector<Entry> result;
      for (Tensor& t : outs) result.push_back(constantEntry(std::move(t)));
      return result;
    }
  }
  std::vector<ir::Value*> vals;
  for (const Entry& e : operands) {
    TRY_ASSIGN(ir::Value * v, materialize(e, loc));
    vals.push_back(v);
  }
  ir::OpSpec spec{kind, std::move(vals), std::move(attrs), std::move(declared), loc};
  TRY_ASSIGN(ir::Op * op, func.addOp(std::move(spec)));
  std::vector<Entry> result;
  for (int i = 0; i < op->numResults(); ++i) {
    Entry e;
    e.value = op->result(i);
    e.type = op->result(i)->type();
    result.push_back(std::move(e));
  }
  return result;
}

std::string sanitizeName(const std::string& name, bool identifier) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (!identifier && (c == '.' || c == '$' || c == '-'));
    out += ok ? c : '_';
  }
  if (out.empty()) out = "_";
  if (identifier && out[0] >= '0' && out[0] <= '9') out = "_" + out;
  return out;
}

std::string ImportContext::symbolFor(const std::string& dimParam) {
  auto it = symbols_.find(dimParam);
  if (it != symbols_.end()) return it->second;
  std::string base = sanitizeName(dimParam, /*identifier=*/true);
  std::string name = base;
  for (int i = 1; usedSymbols_.count(name); ++i) name = base + "_" + std::to_string(i);
  usedSymbols_.insert(name);
  symbols_[dimParam] = name;
  module.symbols.push_back(ir::SymbolDecl{name, 1, Location{file, 0, 0}});
  return name;
}

std::string ImportContext::freshSymbol(const std::string& hint) {
  std::string base = sanitizeName(hint, /*identifier=*/true);
  std::string name = base;
  for (int i = 1; usedSymbols_.count(name); ++i) name = base + "_" + std::to_string(i);
  usedSymbols_.insert(name);
  module.symbols.push_back(ir::SymbolDecl{name, 1, Location{file, 0, 0}});
  return name;
}

std::string ImportContext::uniqueName(const std::string& onnxName) {
  std::string base = sanitizeName(onnxName, /*identifier=*/false);
  std::string name = base;
  for (int i = 1; usedNames_.count(name); ++i) name = base + "_" + std::to_string(i);
  usedNames_.insert(name);
  return name;
}

}  // namespace tessera::frontend::onnximport
