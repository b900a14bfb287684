// The finite-difference gradient check (GradCheck.h).
#include "tests/unit/autodiff/GradCheck.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/autodiff/Autodiff.h"
#include "tests/support/SplitMix64.h"

namespace tessera::gradcheck {

namespace {

using ir::DType;
using ir::Value;

using Rng = testing_support::SplitMix64;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Status readDirective(Sample& s, const std::string& line, const Location& where) {
  std::string body = trim(line.substr(2));
  auto bad = [&](const std::string& what) {
    return Status::error(where, "malformed directive '" + body + "': " + what);
  };
  if (body.rfind("inputs:", 0) == 0) {
    if (std::sscanf(body.c_str(), "inputs: uniform(%lf, %lf)", &s.lo, &s.hi) != 2 ||
        !(s.lo < s.hi))
      return bad("expected 'inputs: uniform(LO, HI)' with LO < HI");
  } else if (body.rfind("symbols:", 0) == 0) {
    std::stringstream in(body.substr(8));
    std::string item;
    while (std::getline(in, item, ',')) {
      item = trim(item);
      size_t eq = item.find('=');
      if (eq == std::string::npos) return bad("expected NAME=VALUE");
      s.symbols[trim(item.substr(0, eq))] = std::stoll(item.substr(eq + 1));
    }
  } else if (body.rfind("fd:", 0) == 0) {
    if (std::sscanf(body.c_str(), "fd: step=%lf rtol=%lf atol=%lf", &s.step, &s.rtol, &s.atol) !=
        3)
      return bad("expected 'fd: step=H rtol=R atol=A'");
  }
  return Status::ok();
}

// Parses `s`, appends the weighted loss to @main and returns the module; `floatArgs` receives
// the differentiation inputs, `weightArgs` the weight arguments.
StatusOr<std::unique_ptr<ir::Module>> buildLossModule(const Sample& s, const std::string& filename,
                                                      std::vector<Value*>& floatArgs,
                                                      std::vector<Value*>& weightArgs) {
  TRY_ASSIGN(auto m, ir::parseModule(s.text, filename));
  TRY(ir::verifyModule(*m));
  ir::Function* f = m->findFunction("main");
  if (!f) return Status::error(Location{filename, s.firstLine, 1}, "the sample has no @main");
  for (int i = 0; i < f->numArguments(); ++i) {
    Value* a = f->argument(i);
    if (!ir::isFloat(a->type().dtype)) continue;
    if (a->type().dtype != DType::F64)
      return Status::error(f->loc, "sample argument %" + a->name() + " is " + a->type().str() +
                                       "; float inputs must be f64");
    floatArgs.push_back(a);
  }
  Location loc = f->returnLoc;
  using Attrs = std::vector<std::pair<std::string, ir::AttrValue>>;
  auto add = [&](ir::OpKind k, std::vector<Value*> ops, Attrs attrs = {}) -> StatusOr<Value*> {
    TRY_ASSIGN(ir::Op * op, f->addOp(ir::OpSpec{k, std::move(ops), std::move(attrs), {}, loc}));
    return op->result(0);
  };
  Value* loss = nullptr;
  std::vector<Value*> results = f->results();
  for (size_t r = 0; r < results.size(); ++r) {
    Value* v = results[r];
    if (!ir::isFloat(v->type().dtype)) continue;
    if (v->type().dtype != DType::F64) {
      TRY_ASSIGN(v, add(ir::OpKind::Cast, {v}, {{"dtype", DType::F64}}));
    }
    Value* w = f->addArgument(v->type(), "__w" + std::to_string(r));
    weightArgs.push_back(w);
    TRY_ASSIGN(Value * prod, add(ir::OpKind::Mul, {v, w}));
    std::vector<int64_t> axes;
    for (int d = 0; d < prod->type().rank(); ++d) axes.push_back(d);
    TRY_ASSIGN(Value * term, add(ir::OpKind::ReduceSum, {prod}, {{"axes", axes}}));
    if (!loss) {
      loss = term;
      continue;
    }
    TRY_ASSIGN(loss, add(ir::OpKind::Add, {loss, term}));
  }
  if (!loss) return Status::error(f->returnLoc, "the sample returns no float result");
  f->setResults({loss});
  return m;
}

StatusOr<ir::Tensor> randomTensor(const ir::TensorType& t, const Sample& s, Rng& rng, double lo,
                                  double hi) {
  std::vector<int64_t> shape;
  for (const ir::Dim& d : t.shape) {
    TRY_ASSIGN(int64_t n, d.evaluate(s.symbols));
    shape.push_back(n);
  }
  ir::Tensor x(t.dtype, shape);
  for (int64_t i = 0; i < x.numElements(); ++i) x.set(i, rng.uniform(lo, hi));
  return x;
}

}  // namespace

StatusOr<std::vector<Sample>> splitSamples(const std::string& text, const std::string& filename) {
  std::vector<Sample> out;
  Sample cur;
  std::stringstream in(text);
  std::string line;
  int lineNo = 0;
  auto flush = [&]() {
    if (trim(cur.text).find("module") != std::string::npos) out.push_back(cur);
  };
  while (std::getline(in, line)) {
    ++lineNo;
    if (trim(line) == "// -----") {
      flush();
      cur = Sample{};
      cur.text = std::string(lineNo, '\n');  // keeps line numbers equal to the file's
      cur.firstLine = lineNo + 1;
      continue;
    }
    std::string t = trim(line);
    if (t.rfind("//", 0) == 0)
      TRY(readDirective(cur, t, Location{filename, lineNo, 1}));
    cur.text += line + "\n";
  }
  flush();
  return out;
}

StatusOr<CheckResult> checkSample(const Sample& s, const std::string& filename, uint64_t seed,
                                  std::optional<ir::OpKind> mustContain, Tamper tamper) {
  Location here{filename, s.firstLine, 1};
  std::vector<Value*> fwdArgs, fwdWeights, gradArgs, gradWeights;
  TRY_ASSIGN(auto fwd, buildLossModule(s, filename, fwdArgs, fwdWeights));
  TRY_ASSIGN(auto bwd, buildLossModule(s, filename, gradArgs, gradWeights));
  ir::Function& ff = *fwd->findFunction("main");
  ir::Function& bf = *bwd->findFunction("main");
  if (mustContain) {
    bool found = false;
    for (const auto& op : ff.ops()) found = found || op->kind() == *mustContain;
    if (!found)
      return Status::error(here, std::string("the sample does not use '") +
                           ir::opInfo(*mustContain).mnemonic + "'");
  }
  if (fwdArgs.empty())
    return Status::error(here, "the sample has no float argument to differentiate");

  TRY_ASSIGN(passes::GradientInfo info, passes::differentiate(bf, 0, gradArgs));
  TRY(ir::verifyModule(*bwd));
  if (tamper) tamper(bf, static_cast<int>(info.grads.size()));
  CheckResult result;
  result.backwardIR = ir::printModule(*bwd);

  Rng rng{seed};
  std::map<std::string, ir::Tensor> inputs;
  for (Value* a : fwdArgs) {
    TRY_ASSIGN(inputs[a->name()], randomTensor(a->type(), s, rng, s.lo, s.hi));
  }
  for (Value* w : fwdWeights) {
    TRY_ASSIGN(inputs[w->name()], randomTensor(w->type(), s, rng, -1, 1));
  }

  TRY_ASSIGN(ir::InterpretResult grads, ir::interpret(bf, inputs));
  auto lossAt = [&](const std::map<std::string, ir::Tensor>& in) -> StatusOr<double> {
    TRY_ASSIGN(ir::InterpretResult r, ir::interpret(ff, in));
    return r.outputs[0][0];
  };
  TRY_ASSIGN(double loss0, lossAt(inputs));
  if (grads.outputs[0][0] != loss0)
    return Status::error(here, "the differentiated function's loss differs from the forward's");

  for (size_t j = 0; j < fwdArgs.size(); ++j) {
    const std::string& name = fwdArgs[j]->name();
    const ir::Tensor& g = grads.outputs[1 + j];
    const ir::Tensor& x = inputs.at(name);
    if (g.shape() != x.shape())
      return Status::error(here, "gradient of %" +
                           name + " has shape " + g.shapeStr() + ", the input " + x.shapeStr());
    for (int64_t i = 0; i < x.numElements(); ++i) {
      std::map<std::string, ir::Tensor> plus = inputs, minus = inputs;
      plus[name].set(i, x[i] + s.step);
      minus[name].set(i, x[i] - s.step);
      TRY_ASSIGN(double lp, lossAt(plus));
      TRY_ASSIGN(double lm, lossAt(minus));
      double fd = (lp - lm) / (2 * s.step);
      double err = std::fabs(g[i] - fd);
      result.maxAbsError = std::max(result.maxAbsError, err);
      ++result.checked;
      if (!(err <= s.atol + s.rtol * std::fabs(fd)))
        result.mismatches.push_back({name, i, g[i], fd});
    }
  }
  return result;
}

}  // namespace tessera::gradcheck
