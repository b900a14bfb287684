// Parsing and validating training-step options (see TrainStepOptions.h).
#include "passes/training/TrainStepOptions.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace tessera::passes {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

StatusOr<double> parseDouble(std::string_view key, std::string_view v) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(d))
    return Status::error("option '" + std::string(key) + "': expected a number, got '" +
                         std::string(v) + "'");
  return d;
}

StatusOr<int> parseInt(std::string_view key, std::string_view v) {
  int i = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size())
    return Status::error("option '" + std::string(key) + "': expected an integer, got '" +
                         std::string(v) + "'");
  return i;
}

StatusOr<bool> parseBool(std::string_view key, std::string_view v) {
  std::string l = lower(v);
  if (l == "true" || l == "1") return true;
  if (l == "false" || l == "0") return false;
  return Status::error("option '" + std::string(key) + "': expected true or false, got '" +
                       std::string(v) + "'");
}

}  // namespace

const char* optimizerName(OptimizerKind k) { return k == OptimizerKind::Sgd ? "sgd" : "adamw"; }

StatusOr<OptimizerKind> parseOptimizer(std::string_view name) {
  std::string l = lower(name);
  if (l == "sgd") return OptimizerKind::Sgd;
  if (l == "adamw") return OptimizerKind::AdamW;
  return Status::error("unknown optimizer '" + std::string(name) + "' (known: sgd, adamw)");
}

double OptimizerOptions::learningRate() const {
  return lr ? *lr : (kind == OptimizerKind::AdamW ? 1e-3 : 0.0);
}

double OptimizerOptions::decay() const {
  return weightDecay ? *weightDecay : (kind == OptimizerKind::AdamW ? 1e-2 : 0.0);
}

const char* trainStepOptionKeys() {
  return "optimizer, lr, momentum, dampening, nesterov, weight_decay, beta1, beta2, eps, accum, "
         "clip, early_updates";
}

Status setTrainStepOption(TrainStepOptions& o, std::string_view key, std::string_view value) {
  OptimizerOptions& opt = o.optimizer;
  if (key == "optimizer") {
    StatusOr<OptimizerKind> k = parseOptimizer(value);
    if (!k.isOk()) return Status::error("option 'optimizer': " + std::string(
                                            k.status().message().substr(7)));
    opt.kind = *k;
    return Status::ok();
  }
  if (key == "early_updates") {
    TRY_ASSIGN(o.earlyUpdates, parseBool(key, value));
    return Status::ok();
  }
  if (key == "nesterov") {
    TRY_ASSIGN(opt.nesterov, parseBool(key, value));
    return Status::ok();
  }
  if (key == "accum") {
    TRY_ASSIGN(o.accum, parseInt(key, value));
    return Status::ok();
  }
  double* target = nullptr;
  if (key == "momentum") target = &opt.momentum;
  else if (key == "dampening") target = &opt.dampening;
  else if (key == "beta1") target = &opt.beta1;
  else if (key == "beta2") target = &opt.beta2;
  else if (key == "eps") target = &opt.eps;
  if (target) {
    TRY_ASSIGN(*target, parseDouble(key, value));
    return Status::ok();
  }
  if (key == "lr" || key == "weight_decay" || key == "clip") {
    TRY_ASSIGN(double d, parseDouble(key, value));
    (key == "lr" ? opt.lr : key == "clip" ? o.clip : opt.weightDecay) = d;
    return Status::ok();
  }
  return Status::error("unknown option '" + std::string(key) + "' (known: " +
                       trainStepOptionKeys() + ")");
}

Status validate(const TrainStepOptions& o, OptionNames names) {
  auto label = [&](const char* key) {
    if (names == OptionNames::Pipeline) return "option '" + std::string(key) + "'";
    std::string flag = key;
    for (char& c : flag)
      if (c == '_') c = '-';
    return "--" + flag;
  };
  auto bad = [&](const char* key, const std::string& why) {
    return Status::error(label(key) + ": " + why);
  };
  const OptimizerOptions& opt = o.optimizer;
  auto num = [](double d) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
  };
  if (opt.kind == OptimizerKind::Sgd && !opt.lr)
    return bad("lr", "SGD needs a learning rate (torch.optim.SGD has no default)");
  if (opt.lr && !(*opt.lr >= 0)) return bad("lr", "must be >= 0, got " + num(*opt.lr));
  if (opt.weightDecay && !(*opt.weightDecay >= 0))
    return bad("weight_decay", "must be >= 0, got " + num(*opt.weightDecay));
  if (opt.kind == OptimizerKind::Sgd) {
    if (!(opt.momentum >= 0)) return bad("momentum", "must be >= 0, got " + num(opt.momentum));
    if (opt.nesterov && (opt.momentum <= 0 || opt.dampening != 0))
      return bad("nesterov", "Nesterov momentum requires a momentum > 0 and zero dampening");
  } else {
    if (opt.momentum != 0 || opt.dampening != 0 || opt.nesterov)
      return bad(opt.momentum != 0 ? "momentum" : opt.dampening != 0 ? "dampening" : "nesterov",
                 "is an SGD option; AdamW takes beta1, beta2, eps and weight_decay");
    if (!(opt.beta1 >= 0 && opt.beta1 < 1))
      return bad("beta1", "must be in [0, 1), got " + num(opt.beta1));
    if (!(opt.beta2 >= 0 && opt.beta2 < 1))
      return bad("beta2", "must be in [0, 1), got " + num(opt.beta2));
    if (!(opt.eps >= 0)) return bad("eps", "must be >= 0, got " + num(opt.eps));
  }
  if (opt.kind == OptimizerKind::Sgd &&
      (opt.beta1 != 0.9 || opt.beta2 != 0.999 || opt.eps != 1e-8))
    return bad(opt.beta1 != 0.9 ? "beta1" : opt.beta2 != 0.999 ? "beta2" : "eps",
               "is an AdamW option; SGD takes momentum, dampening, nesterov and weight_decay");
  if (o.accum < 1) return bad("accum", "must be >= 1, got " + std::to_string(o.accum));
  if (o.clip && !(*o.clip > 0)) return bad("clip", "must be > 0, got " + num(*o.clip));
  return Status::ok();
}

}  // namespace tessera::passes
