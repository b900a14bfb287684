// The reference interpreter: binds symbols from the inputs' shapes, then runs the function's ops
// in order through each op's EvalFn on whole tensors.
//
// Binding is a unification of each argument's declared shape with its input's concrete shape: a
// declared dim that is exactly one symbol binds it; every other dim (constants, `B*S`, `B/2`) is
// then evaluated and must match. Values die after their last use so that the peak memory is that
// of the live tensors, not of the whole trace.
#include "ir/Interpreter.h"

#include <unordered_map>

namespace tessera::ir {

namespace {

std::string argLabel(const Value* arg) {
  return arg->name().empty() ? "argument #" + std::to_string(arg->resultIndex())
                             : "argument %" + arg->name();
}

std::string concreteStr(DType t, const std::vector<int64_t>& shape) {
  std::string s = std::string(dtypeName(t)) + "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// The text of a location-less error (Dim::evaluate's), without its "error: " prefix, to be
// embedded in a message that names the place.
std::string detail(const Status& s) {
  const std::string& m = s.message();
  const std::string prefix = "error: ";
  return m.compare(0, prefix.size(), prefix) == 0 ? m.substr(prefix.size()) : m;
}

Status fail(const Function& f, const std::string& message) {
  return f.loc.known() ? Status::error(f.loc, message) : Status::error(message);
}

// Binds the symbols of every argument's shape from the given tensors, then checks every dim.
StatusOr<std::map<std::string, int64_t>> bindSymbols(const Function& f,
                                                     const std::vector<const Tensor*>& args) {
  std::map<std::string, int64_t> symbols;
  std::map<std::string, std::string> boundBy;  // symbol -> "argument %x dim 0", for messages
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* arg = f.argument(i);
    const TensorType& t = arg->type();
    const Tensor& in = *args[i];
    std::string where = " (" + argLabel(arg) + " is declared " + t.str() + ", the input is " +
                        concreteStr(in.dtype(), in.shape()) + ")";
    if (in.dtype() != t.dtype) return fail(f, "wrong element type for " + argLabel(arg) + where);
    if (in.rank() != t.rank()) return fail(f, "wrong rank for " + argLabel(arg) + where);
    for (int d = 0; d < t.rank(); ++d) {
      std::optional<std::string> sym = t.shape[d].asSymbol();
      if (!sym) continue;
      std::string here = argLabel(arg) + " dim " + std::to_string(d);
      auto [it, inserted] = symbols.emplace(*sym, in.shape()[d]);
      if (inserted) {
        boundBy[*sym] = here;
      } else if (it->second != in.shape()[d]) {
        return fail(f, "symbol " + *sym + " is " + std::to_string(it->second) + " from " +
                           boundBy[*sym] + " but " + std::to_string(in.shape()[d]) + " from " +
                           here);
      }
    }
  }
  // A dim that is a constant multiple of one symbol (`B/2` in a partitioned program, `2*B`) binds
  // that symbol when no argument dim names it exactly; the check below verifies every dim.
  for (int i = 0; i < f.numArguments(); ++i) {
    const TensorType& t = f.argument(i)->type();
    for (int d = 0; d < t.rank(); ++d) {
      const auto& terms = t.shape[d].terms();
      if (terms.size() != 1 || terms.begin()->first.size() != 1) continue;
      const std::string& sym = terms.begin()->first[0];
      const Rational& c = terms.begin()->second;
      if (symbols.count(sym) || c.num <= 0) continue;
      int64_t scaled = args[i]->shape()[d] * c.den;
      if (scaled % c.num != 0) continue;  // reported by the check below
      symbols.emplace(sym, scaled / c.num);
      boundBy[sym] = argLabel(f.argument(i)) + " dim " + std::to_string(d);
    }
  }
  if (const Module* m = f.module())
    for (const auto& [name, value] : symbols)
      if (const SymbolDecl* decl = m->findSymbol(name); decl && value % decl->divisibleBy != 0)
        return fail(f, "symbol " + name + " = " + std::to_string(value) + " (from " +
                           boundBy[name] + ") is not divisible by " +
                           std::to_string(decl->divisibleBy));
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* arg = f.argument(i);
    const TensorType& t = arg->type();
    for (int d = 0; d < t.rank(); ++d) {
      StatusOr<int64_t> v = t.shape[d].evaluate(symbols);
      if (!v.isOk())
        return fail(f, argLabel(arg) + " dim " + std::to_string(d) + ": " + detail(v.status()));
      if (*v != args[i]->shape()[d])
        return fail(f, "shape mismatch for " + argLabel(arg) + ": declared " + t.str() +
                           " requires dim " + std::to_string(d) + " = " + std::to_string(*v) +
                           ", the input is " + concreteStr(args[i]->dtype(), args[i]->shape()));
    }
  }
  return symbols;
}

// Runs the ops once the arguments are bound. `args[i]` is the tensor of argument i.
StatusOr<InterpretResult> run(const Function& f, const std::vector<const Tensor*>& args,
                              RankRuntime* runtime = nullptr) {
  TRY_ASSIGN(auto symbols, bindSymbols(f, args));

  // The index of the last op reading each op result, so its tensor can be dropped after it.
  std::unordered_map<const Value*, size_t> lastUse;
  for (size_t k = 0; k < f.ops().size(); ++k)
    for (const Value* v : f.ops()[k]->operands()) lastUse[v] = k;
  for (const Value* v : f.results()) lastUse[v] = f.ops().size();

  std::unordered_map<const Value*, Tensor> values;
  auto lookup = [&](const Value* v) -> const Tensor* {
    if (v->isArgument()) return args[v->resultIndex()];
    auto it = values.find(v);
    assert(it != values.end() && "operand used before its definition");
    return &it->second;
  };

  for (size_t k = 0; k < f.ops().size(); ++k) {
    const Op& op = *f.ops()[k];
    EvalContext ctx{op, {}, {}, {}, &symbols, runtime};
    for (const Value* v : op.operands()) ctx.operands.push_back(lookup(v));
    for (int r = 0; r < op.numResults(); ++r) {
      const TensorType& t = op.result(r)->type();
      std::vector<int64_t> shape;
      for (const Dim& d : t.shape) {
        StatusOr<int64_t> v = d.evaluate(symbols);
        if (!v.isOk())
          return Status::error(op.loc(), std::string(op.mnemonic()) + ": result type " + t.str() +
                                             ": " + detail(v.status()));
        if (*v < 0)
          return Status::error(op.loc(), std::string(op.mnemonic()) + ": result type " + t.str() +
                                             " has negative dimension " + d.str() + " = " +
                                             std::to_string(*v));
        shape.push_back(*v);
      }
      ctx.resultShapes.push_back(std::move(shape));
      ctx.resultDTypes.push_back(t.dtype);
    }
    TRY_ASSIGN(std::vector<Tensor> results, op.info().eval(ctx));
    assert(static_cast<int>(results.size()) == op.numResults());
    for (int r = 0; r < op.numResults(); ++r) {
      assert(results[r].shape() == ctx.resultShapes[r] && "eval produced the wrong shape");
      assert(results[r].dtype() == ctx.resultDTypes[r] && "eval produced the wrong dtype");
      if (lastUse.count(op.result(r))) values.emplace(op.result(r), std::move(results[r]));
    }
    for (const Value* v : op.operands())
      if (!v->isArgument() && lastUse[v] == k) values.erase(v);
  }

  InterpretResult out;
  for (const Value* v : f.results()) out.outputs.push_back(*lookup(v));
  out.symbols = std::move(symbols);
  return out;
}

}  // namespace

StatusOr<InterpretResult> interpret(const Function& f,
                                    const std::map<std::string, Tensor>& inputs) {
  for (const auto& [name, tensor] : inputs) {
    bool found = false;
    for (int i = 0; i < f.numArguments() && !found; ++i)
      found = !name.empty() && f.argument(i)->name() == name;
    if (!found)
      return fail(f, "unknown input '" + name + "': function @" + f.name() +
                         " has no argument of that name");
  }
  std::vector<const Tensor*> args;
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* arg = f.argument(i);
    if (auto it = inputs.find(arg->name()); !arg->name().empty() && it != inputs.end()) {
      args.push_back(&it->second);
      continue;
    }
    const Parameter* p = f.module() ? f.module()->findParam(arg->name()) : nullptr;
    if (p && p->init) {
      args.push_back(p->init.get());
      continue;
    }
    return fail(f, "no input for " + argLabel(arg) + " of @" + f.name() +
                       (p ? ": parameter @" + p->name + " has no initial value"
                          : " and no module parameter of that name"));
  }
  return run(f, args);
}

StatusOr<InterpretResult> interpret(const Function& f, const std::vector<Tensor>& inputs) {
  if (static_cast<int>(inputs.size()) != f.numArguments())
    return fail(f, "function @" + f.name() + " takes " + std::to_string(f.numArguments()) +
                       " arguments, " + std::to_string(inputs.size()) + " were given");
  std::vector<const Tensor*> args;
  for (const Tensor& t : inputs) args.push_back(&t);
  return run(f, args);
}

StatusOr<InterpretResult> interpret(const Function& f, const std::vector<Tensor>& inputs,
                                    RankRuntime& runtime) {
  if (static_cast<int>(inputs.size()) != f.numArguments())
    return fail(f, "function @" + f.name() + " takes " + std::to_string(f.numArguments()) +
                       " arguments, " + std::to_string(inputs.size()) + " were given");
  std::vector<const Tensor*> args;
  for (const Tensor& t : inputs) args.push_back(&t);
  return run(f, args, &runtime);
}

}  // namespace tessera::ir
