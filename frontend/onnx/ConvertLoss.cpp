// Converters of the ONNX losses over a class dim 1 ([N, C, d1, ...] scores, [N, d1, ...] labels):
// SoftmaxCrossEntropyLoss becomes Tessera's cross_entropy (class dim moved last) when it has no
// class weights; with weights, and for NegativeLogLikelihoodLoss, the loss is spelled out:
// one_hot(labels) picks each position's log-probability and weight, a mask drops ignore_index,
// and the mean divides by the total weight of the counted positions, as ONNX defines it.
#include <limits>
#include <numeric>

#include "frontend/onnx/Converters.h"

namespace tessera::frontend::onnximport {

using ir::CompareDir;
using ir::Dim;
using ir::DType;
using ir::LossReduction;
using ir::OpKind;

namespace {

struct LossAttrs {
  LossReduction reduction = LossReduction::Mean;
  std::optional<int64_t> ignoreIndex;
};

StatusOr<LossAttrs> lossAttrs(NodeContext& n) {
  TRY(n.allowAttrs({"reduction", "ignore_index"}));
  LossAttrs out;
  TRY_ASSIGN(std::string r, n.attrString("reduction", "mean"));
  if (r == "mean") out.reduction = LossReduction::Mean;
  else if (r == "sum") out.reduction = LossReduction::Sum;
  else if (r == "none") out.reduction = LossReduction::None;
  else return n.error("reduction '" + r + "' is not one of mean, sum, none");
  if (n.attr("ignore_index")) {
    TRY_ASSIGN(int64_t ii, n.attrInt("ignore_index", 0));
    out.ignoreIndex = ii;
  }
  return out;
}

// Checks scores [N, C, d...] against labels [N, d...]; returns the perm moving C last.
StatusOr<std::vector<int64_t>> classLastPerm(NodeContext& n, const Entry& scores,
                                             const Entry& labels) {
  int r = scores.type.rank();
  if (r < 2) return n.error("scores must have rank >= 2 ([N, C, ...]), got " + scores.type.str());
  if (!ir::isInteger(labels.type.dtype))
    return n.error("labels must be an integer tensor, got " + labels.type.str());
  ir::Shape expected = scores.type.shape;
  expected.erase(expected.begin() + 1);
  if (labels.type.shape != expected)
    return n.error("labels " + labels.type.str() + " must have shape " + ir::shapeStr(expected) +
                   " (scores " + scores.type.str() + " without the class dim 1)");
  std::vector<int64_t> perm{0};
  for (int i = 2; i < r; ++i) perm.push_back(i);
  perm.push_back(1);
  return perm;
}

// The negative log-likelihood of log-probabilities `logp` [N, C, d...].
StatusOr<Entry> nll(NodeContext& n, const Entry& logp, const Entry& labels,
                    const std::optional<Entry>& weight, const LossAttrs& attrs) {
  TRY_ASSIGN(std::vector<int64_t> perm, classLastPerm(n, logp, labels));
  auto c = logp.type.shape[1].constant();
  if (!c) return n.unsupported("the class dim " + logp.type.shape[1].str() + " must be constant");
  if (*c <= 0) return n.error("the class dim must be positive");
  DType dt = logp.type.dtype;
  TRY_ASSIGN(Entry last, n.transpose(logp, perm));
  // Labels outside [0, C) (an out-of-range ignore_index) give an all-zero one_hot row.
  TRY_ASSIGN(Entry oh, n.emit(OpKind::OneHot, {labels}, {{"depth", *c}, {"dtype", dt}}));
  TRY_ASSIGN(Entry prod, n.emit(OpKind::Mul, {oh, last}));
  TRY_ASSIGN(Entry picked, n.reduce(OpKind::ReduceSum, prod, {-1}, false));
  std::optional<Entry> w;  // per-position weight, absent = 1
  if (weight) {
    if (weight->type.shape != ir::Shape{Dim(*c)} || weight->type.dtype != dt)
      return n.error("weight " + weight->type.str() + " must be a [" + std::to_string(*c) +
                     "] tensor of the scores' element type");
    TRY_ASSIGN(Entry ow, n.emit(OpKind::Mul, {oh, *weight}));
    TRY_ASSIGN(w, n.reduce(OpKind::ReduceSum, ow, {-1}, false));
  }
  if (attrs.ignoreIndex) {
    TRY_ASSIGN(Entry ii, n.constScalar(static_cast<double>(*attrs.ignoreIndex),
                                       labels.type.dtype));
    TRY_ASSIGN(Entry keep, n.compare(labels, ii, CompareDir::Ne));
    TRY_ASSIGN(Entry m, n.cast(keep, dt));
    if (w) {
      TRY_ASSIGN(w, n.emit(OpKind::Mul, {*w, m}));
    } else {
      w = m;
    }
  }
  Entry loss = picked;
  if (w) {
    TRY_ASSIGN(loss, n.emit(OpKind::Mul, {picked, *w}));
  }
  TRY_ASSIGN(loss, n.emit(OpKind::Neg, {loss}));
  if (attrs.reduction == LossReduction::None) return loss;
  std::vector<int64_t> all(loss.type.rank());
  std::iota(all.begin(), all.end(), 0);
  TRY_ASSIGN(Entry sum, n.reduce(OpKind::ReduceSum, loss, all, false));
  if (attrs.reduction == LossReduction::Sum) return sum;
  if (!w) return n.reduce(OpKind::ReduceMean, loss, all, false);
  TRY_ASSIGN(Entry total, n.reduce(OpKind::ReduceSum, *w, all, false));
  return n.emit(OpKind::Div, {sum, total});
}

}  // namespace

Status convertNllLoss(NodeContext& n) {
  TRY(n.expectInputs(2, 3));
  TRY_ASSIGN(LossAttrs attrs, lossAttrs(n));
  TRY_ASSIGN(Entry logp, n.input(0));
  TRY_ASSIGN(Entry labels, n.input(1));
  std::optional<Entry> weight;
  if (n.hasInput(2)) {
    TRY_ASSIGN(weight, n.input(2));
  }
  if (!ir::isFloat(logp.type.dtype)) return n.error("input must be a float tensor");
  TRY_ASSIGN(Entry loss, nll(n, logp, labels, weight, attrs));
  return n.setOutput(0, std::move(loss));
}

Status convertSoftmaxCrossEntropy(NodeContext& n) {
  TRY(n.expectInputs(2, 3));
  TRY_ASSIGN(LossAttrs attrs, lossAttrs(n));
  TRY_ASSIGN(Entry scores, n.input(0));
  TRY_ASSIGN(Entry labels, n.input(1));
  if (!ir::isFloat(scores.type.dtype)) return n.error("scores must be a float tensor");
  TRY_ASSIGN(std::vector<int64_t> perm, classLastPerm(n, scores, labels));
  std::optional<Entry> logp;
  if (n.wantsOutput(1) || n.hasInput(2)) {
    TRY_ASSIGN(logp, n.emit(OpKind::LogSoftmax, {scores}, {{"axis", int64_t{1}}}));
  }
  if (n.hasInput(2)) {
    TRY_ASSIGN(Entry weight, n.input(2));
    TRY_ASSIGN(Entry loss, nll(n, *logp, labels, weight, attrs));
    TRY(n.setOutput(0, std::move(loss)));
  } else {
    TRY_ASSIGN(Entry logits, n.transpose(scores, perm));
    // Without ignore_index no label is ignored: use a value no label can have.
    int64_t ii = attrs.ignoreIndex.value_or(-(int64_t{1} << 62));
    TRY_ASSIGN(Entry loss,
               n.emit(OpKind::CrossEntropy, {logits, labels},
                      {{"reduction", ir::makeEnum(ir::kLossReductionEnum, attrs.reduction)},
                       {"ignore_index", ii}}));
    TRY(n.setOutput(0, std::move(loss)));
  }
  if (n.wantsOutput(1)) TRY(n.setOutput(1, std::move(*logp)));
  return Status::ok();
}

}  // namespace tessera::frontend::onnximport
