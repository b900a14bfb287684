// The optimizer update rules of @train_step against torch.optim's documented algorithms,
// re-implemented here on plain doubles, over three steps of a small f64 model whose loss and
// gradients have closed forms:
//   loss = sum((w - x)^2) + sum(u^3),  dloss/dw = 2 (w - x),  dloss/du = 3 u^2.
#include <cmath>

#include "ir/Printer.h"
#include "TrainingTestUtil.h"

namespace tessera::training_test {
namespace {

using passes::OptimizerKind;
using passes::TrainStepOptions;

const char* kQuad = R"(
module @quad {
  param @w : f64[3] = dense<f64[3], [0.5, -1.0, 2.0]>
  param @u : f64[2,2] = dense<f64[2,2], [1.0, 0.25, -0.5, 3.0]>
  func @main(%x: f64[3], %w: f64[3], %u: f64[2,2]) -> (f64[]) {
    %d = sub %w, %x : f64[3]
    %s = mul %d, %d : f64[3]
    %l1 = reduce_sum %s axes=[0] : f64[]
    %u2 = mul %u, %u : f64[2,2]
    %u3 = mul %u2, %u : f64[2,2]
    %l2 = reduce_sum %u3 axes=[0,1] : f64[]
    %loss = add %l1, %l2 : f64[]
    return %loss
  }
}
)";

const std::vector<double> kX = {0.1, 0.2, 0.3};

// The reference: parameters as flat vectors, the closed-form loss and gradients.
struct Ref {
  std::vector<double> w = {0.5, -1.0, 2.0};
  std::vector<double> u = {1.0, 0.25, -0.5, 3.0};
  double loss() const {
    double l = 0;
    for (size_t i = 0; i < 3; ++i) l += (w[i] - kX[i]) * (w[i] - kX[i]);
    for (double v : u) l += v * v * v;
    return l;
  }
  std::vector<std::vector<double>> grads() const {
    std::vector<double> gw(3), gu(4);
    for (size_t i = 0; i < 3; ++i) gw[i] = 2 * (w[i] - kX[i]);
    for (size_t i = 0; i < 4; ++i) gu[i] = 3 * u[i] * u[i];
    return {gw, gu};
  }
  std::vector<std::vector<double>*> params() { return {&w, &u}; }
};

// torch.nn.utils.clip_grad_norm_.
void clipRef(std::vector<std::vector<double>>& grads, double maxNorm) {
  double sq = 0;
  for (const auto& g : grads)
    for (double v : g) sq += v * v;
  double coef = std::min(maxNorm / (std::sqrt(sq) + 1e-6), 1.0);
  for (auto& g : grads)
    for (double& v : g) v *= coef;
}

// torch.optim.SGD, as documented (first momentum step: buf = g).
struct SgdRef {
  explicit SgdRef(double lr_, double momentum_ = 0, double dampening_ = 0, double wd_ = 0)
      : lr(lr_), momentum(momentum_), dampening(dampening_), wd(wd_) {}
  double lr, momentum, dampening, wd;
  bool nesterov = false;
  std::vector<std::vector<double>> buf;
  void step(Ref& r, std::vector<std::vector<double>> grads, int t) {
    auto params = r.params();
    if (buf.empty()) buf.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<double>& p = *params[i];
      if (buf[i].empty()) buf[i].assign(p.size(), 0);
      for (size_t j = 0; j < p.size(); ++j) {
        double g = grads[i][j] + wd * p[j];
        if (momentum != 0) {
          buf[i][j] = t == 0 ? g : momentum * buf[i][j] + (1 - dampening) * g;
          g = nesterov ? g + momentum * buf[i][j] : buf[i][j];
        }
        p[j] -= lr * g;
      }
    }
  }
};

// torch.optim.AdamW, as documented (decoupled decay, bias-corrected moments).
struct AdamWRef {
  explicit AdamWRef(double lr_ = 1e-3, double b1_ = 0.9, double b2_ = 0.999, double eps_ = 1e-8,
                    double wd_ = 1e-2)
      : lr(lr_), b1(b1_), b2(b2_), eps(eps_), wd(wd_) {}
  double lr, b1, b2, eps, wd;
  std::vector<std::vector<double>> m, v;
  void step(Ref& r, const std::vector<std::vector<double>>& grads, int t0) {
    int t = t0 + 1;
    auto params = r.params();
    if (m.empty()) m.resize(params.size()), v.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<double>& p = *params[i];
      if (m[i].empty()) m[i].assign(p.size(), 0), v[i].assign(p.size(), 0);
      for (size_t j = 0; j < p.size(); ++j) {
        double g = grads[i][j];
        p[j] *= 1 - lr * wd;
        m[i][j] = b1 * m[i][j] + (1 - b1) * g;
        v[i][j] = b2 * v[i][j] + (1 - b2) * g * g;
        double mhat = m[i][j] / (1 - std::pow(b1, t));
        double vhat = v[i][j] / (1 - std::pow(b2, t));
        p[j] -= lr * mhat / (std::sqrt(vhat) + eps);
      }
    }
  }
};

// Trains the IR and the reference side by side for three steps, comparing every step.
template <typename Opt>
void compare(const TrainStepOptions& o, Opt ref, std::optional<double> clip = std::nullopt) {
  std::unique_ptr<ir::Module> m = parse(kQuad);
  ASSERT_TRUE(m);
  passes::TrainStepInfo info = build(*m, o);
  ASSERT_EQ(info.params.size(), 2u);
  Ref r;
  std::map<std::string, ir::Tensor> in{{"x", ir::Tensor(ir::DType::F64, {3}, kX)}};
  for (int t = 0; t < 3; ++t) {
    double want = r.loss();
    auto grads = r.grads();
    if (clip) clipRef(grads, *clip);
    ref.step(r, grads, t);
    double got = runStep(*m, info, in);
    EXPECT_NEAR(got, want, 1e-12 * std::abs(want)) << "loss at step " << t + 1;
    expectNear(paramValue(*m, "w").data(), r.w, 1e-12, "w after step " + std::to_string(t + 1));
    expectNear(paramValue(*m, "u").data(), r.u, 1e-12, "u after step " + std::to_string(t + 1));
  }
}

TrainStepOptions sgd(double lr) {
  TrainStepOptions o;
  o.optimizer.kind = OptimizerKind::Sgd;
  o.optimizer.lr = lr;
  return o;
}

TEST(Optimizer, SgdFirstStepByHand) {
  std::unique_ptr<ir::Module> m = parse(kQuad);
  passes::TrainStepInfo info = build(*m, sgd(0.1));
  double loss = runStep(*m, info, {{"x", ir::Tensor(ir::DType::F64, {3}, kX)}});
  // 0.4^2 + 1.2^2 + 1.7^2 + 1 + 0.25^3 - 0.5^3 + 27
  EXPECT_NEAR(loss, 32.380625, 1e-12);
  // w - 0.1 * 2 (w - x), u - 0.1 * 3 u^2
  expectNear(paramValue(*m, "w").data(), {0.42, -0.76, 1.66}, 1e-14, "w");
  expectNear(paramValue(*m, "u").data(), {0.7, 0.23125, -0.575, 0.3}, 1e-14, "u");
}

TEST(Optimizer, SgdPlain) { compare(sgd(0.05), SgdRef(0.05)); }

TEST(Optimizer, SgdMomentum) {
  TrainStepOptions o = sgd(0.05);
  o.optimizer.momentum = 0.9;
  compare(o, SgdRef(0.05, 0.9));
}

TEST(Optimizer, SgdMomentumDampeningKeepsFirstStepUndamped) {
  TrainStepOptions o = sgd(0.05);
  o.optimizer.momentum = 0.9;
  o.optimizer.dampening = 0.5;
  compare(o, SgdRef(0.05, 0.9, 0.5));
}

TEST(Optimizer, SgdNesterov) {
  TrainStepOptions o = sgd(0.05);
  o.optimizer.momentum = 0.8;
  o.optimizer.nesterov = true;
  SgdRef ref(0.05, 0.8);
  ref.nesterov = true;
  compare(o, ref);
}

TEST(Optimizer, SgdWeightDecayWithMomentum) {
  TrainStepOptions o = sgd(0.05);
  o.optimizer.momentum = 0.9;
  o.optimizer.weightDecay = 0.1;
  compare(o, SgdRef(0.05, 0.9, 0, 0.1));
}

TEST(Optimizer, AdamWDefaults) {
  TrainStepOptions o;  // AdamW, lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2
  compare(o, AdamWRef());
}

TEST(Optimizer, AdamWCustomHyperParameters) {
  TrainStepOptions o;
  o.optimizer.lr = 0.1;
  o.optimizer.beta1 = 0.8;
  o.optimizer.beta2 = 0.95;
  o.optimizer.eps = 1e-3;
  o.optimizer.weightDecay = 0.2;
  compare(o, AdamWRef(0.1, 0.8, 0.95, 1e-3, 0.2));
}

TEST(Optimizer, AdamWStateIsModuleParametersAndAdvances) {
  std::unique_ptr<ir::Module> m = parse(kQuad);
  std::string mainBefore = ir::printModule(*m);
  passes::TrainStepInfo info = build(*m, TrainStepOptions{});
  EXPECT_EQ(info.function, "train_step");
  EXPECT_EQ(info.batchArgs, std::vector<std::string>({"x"}));
  EXPECT_EQ(info.params, std::vector<std::string>({"w", "u"}));
  EXPECT_EQ(info.state, std::vector<std::string>({"w.m", "w.v", "u.m", "u.v", "step"}));
  for (const char* name : {"w.m", "w.v", "u.m", "u.v"}) {
    const ir::Parameter* p = m->findParam(name);
    ASSERT_TRUE(p) << name;
    EXPECT_FALSE(p->trainable) << name;
    ASSERT_TRUE(p->init) << name;
    for (double v : p->init->data()) EXPECT_EQ(v, 0) << name;
  }
  EXPECT_EQ(m->findParam("u.v")->type.str(), "f64[2,2]");
  EXPECT_EQ(m->findParam("step")->type.str(), "i64[]");
  // The signature: batch, params, state; results: loss, params', state'.
  const ir::Function* ts = m->findFunction("train_step");
  ASSERT_TRUE(ts);
  std::vector<std::string> args;
  for (int i = 0; i < ts->numArguments(); ++i) args.push_back(ts->argument(i)->name());
  EXPECT_EQ(args, std::vector<std::string>({"x", "w", "u", "w.m", "w.v", "u.m", "u.v", "step"}));
  ASSERT_EQ(ts->results().size(), 8u);
  EXPECT_EQ(ts->results()[0]->type().str(), "f64[]");
  EXPECT_EQ(ts->results()[2]->type().str(), "f64[2,2]");
  EXPECT_EQ(ts->results()[7]->type().str(), "i64[]");

  std::map<std::string, ir::Tensor> in{{"x", ir::Tensor(ir::DType::F64, {3}, kX)}};
  for (int t = 0; t < 3; ++t) runStep(*m, info, in);
  EXPECT_EQ(paramValue(*m, "step")[0], 3);
  // After one or more steps the first moment is non-zero where the gradient is.
  EXPECT_NE(paramValue(*m, "w.m")[0], 0);

  // @main is unchanged, and the whole module survives the text form.
  std::string after = ir::printModule(*m);
  size_t at = mainBefore.find("func @main");
  ASSERT_NE(at, std::string::npos);
  std::string mainText = mainBefore.substr(at, mainBefore.find("return", at) - at);
  EXPECT_NE(after.find(mainText), std::string::npos);
  StatusOr<std::unique_ptr<ir::Module>> back = ir::parseModule(after, "printed.tir");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_TRUE(ir::verifyModule(**back).isOk());
}

TEST(Clipping, ScalesByGlobalNormWhenAbove) {
  // The gradient norm at the start is about 27.5, far above 1.
  TrainStepOptions o = sgd(0.1);
  o.clip = 1.0;
  compare(o, SgdRef(0.1), 1.0);
}

TEST(Clipping, LeavesSmallGradientsAlone) {
  TrainStepOptions o = sgd(0.01);
  o.clip = 1000.0;
  SgdRef ref(0.01);
  compare(o, ref, 1000.0);
  // And that is the same as no clipping at all, to rounding.
  std::unique_ptr<ir::Module> a = parse(kQuad), b = parse(kQuad);
  passes::TrainStepInfo ia = build(*a, o), ib = build(*b, sgd(0.01));
  std::map<std::string, ir::Tensor> in{{"x", ir::Tensor(ir::DType::F64, {3}, kX)}};
  runStep(*a, ia, in);
  runStep(*b, ib, in);
  expectNear(paramValue(*a, "u").data(), paramValue(*b, "u").data(), 1e-15, "u");
}

TEST(Clipping, FirstStepByHand) {
  // SGD lr = 1 with clip c: p' = p - g * c / (|g| + 1e-6).
  TrainStepOptions o = sgd(1.0);
  o.clip = 2.0;
  std::unique_ptr<ir::Module> m = parse(kQuad);
  passes::TrainStepInfo info = build(*m, o);
  runStep(*m, info, {{"x", ir::Tensor(ir::DType::F64, {3}, kX)}});
  // g = (0.8, -2.4, 3.4 | 3, 0.1875, 0.75, 27); |g|^2 = 0.64 + 5.76 + 11.56 + 9 + 0.03515625 +
  // 0.5625 + 729 = 756.55765625
  double coef = 2.0 / (std::sqrt(756.55765625) + 1e-6);
  expectNear(paramValue(*m, "w").data(), {0.5 - 0.8 * coef, -1.0 + 2.4 * coef, 2.0 - 3.4 * coef},
             1e-14, "w");
  EXPECT_NEAR(paramValue(*m, "u")[3], 3.0 - 27 * coef, 1e-14);
}

}  // namespace
}  // namespace tessera::training_test
