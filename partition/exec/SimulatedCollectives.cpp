// The rendezvous and the meaning of each collective on whole local tensors; see
// SimulatedCollectives.h. Reductions run in group-position order in double precision and round
// once to the element type, so every member computes bit-identical results.
#include "partition/exec/SimulatedCollectives.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "ir/Op.h"
#include "partition/exec/Shards.h"

namespace tessera::partition {

using ir::Tensor;

void Rendezvous::abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!aborted_) abortReason_ = why;
  aborted_ = true;
  cv_.notify_all();
}

StatusOr<std::vector<const Tensor*>> Rendezvous::arrive(const std::string& key, int64_t seq, int n,
                                                         int position, const Tensor* operand,
                                                         const std::string& signature,
                                                         const std::string& who) {
  std::unique_lock<std::mutex> lock(mu_);
  Slot& slot = slots_[{key, seq}];
  if (slot.operands.empty()) {
    slot.operands.assign(n, nullptr);
    slot.signatures.assign(n, "");
  }
  slot.operands[position] = operand;
  slot.signatures[position] = signature;
  ++slot.arrived;
  cv_.notify_all();
  bool ok = cv_.wait_for(lock, timeout_, [&] { return aborted_ || slot.arrived == n; });
  if (aborted_) return Status::error(who + ": stopped because " + abortReason_);
  if (!ok)
    return Status::error(who + ": timed out waiting for the other members of its group (" +
                         std::to_string(slot.arrived) + " of " + std::to_string(n) + " arrived)");
  for (int i = 0; i < n; ++i)
    if (slot.signatures[i] != signature)
      return Status::error(who + ": mismatched collectives: this rank issued '" + signature +
                           "', group position " + std::to_string(i) + " issued '" +
                           slot.signatures[i] + "'");
  return slot.operands;
}

Status Rendezvous::finish(const std::string& key, int64_t seq, int n, const std::string& who) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = slots_.find({key, seq});
  assert(it != slots_.end());
  Slot& slot = it->second;
  ++slot.done;
  cv_.notify_all();
  bool ok = cv_.wait_for(lock, timeout_, [&] { return aborted_ || slot.done == n; });
  if (aborted_) return Status::error(who + ": stopped because " + abortReason_);
  if (!ok) return Status::error(who + ": timed out waiting for its group to read the operands");
  // The last member to leave frees the slot (every member saw done == n before any left).
  if (--slot.arrived == 0) slots_.erase(it);
  return Status::ok();
}

void Rendezvous::post(int64_t from, int64_t to, Tensor message, const std::string& signature) {
  std::lock_guard<std::mutex> lock(mu_);
  mail_[{from, to}].emplace_back(signature, std::move(message));
  cv_.notify_all();
}

StatusOr<Tensor> Rendezvous::take(int64_t from, int64_t to, const std::string& signature,
                                  const std::string& who) {
  std::unique_lock<std::mutex> lock(mu_);
  auto& box = mail_[{from, to}];
  bool ok = cv_.wait_for(lock, timeout_, [&] { return aborted_ || !box.empty(); });
  if (aborted_) return Status::error(who + ": stopped because " + abortReason_);
  if (!ok)
    return Status::error(who + ": timed out waiting for a message from rank " + std::to_string(from));
  auto [sig, t] = std::move(box.front());
  box.pop_front();
  if (sig != signature)
    return Status::error(who + ": receives " + signature + " but rank " + std::to_string(from) +
                         " sent " + sig);
  return std::move(t);
}

SimulatedRank::SimulatedRank(const ir::Mesh& mesh, int64_t rank, Rendezvous& rv)
    : mesh_(mesh), rank_(rank), coords_(rankCoordinates(mesh, rank)), rv_(rv) {}

StatusOr<int64_t> SimulatedRank::coordinate(const std::string& meshName,
                                            const std::string& axis) const {
  if (!meshName.empty() && meshName != mesh_.name)
    return Status::error("rank " + std::to_string(rank_) + " runs on mesh @" + mesh_.name +
                         ", not @" + meshName);
  int i = mesh_.axisIndex(axis);
  if (i < 0) return Status::error("mesh @" + mesh_.name + " has no axis '" + axis + "'");
  return coords_[i];
}

namespace {

// A tensor viewed as [outer, len, inner] around dim d.
struct Split3 {
  int64_t outer = 1, len = 1, inner = 1;
};
Split3 split3(const std::vector<int64_t>& shape, int d) {
  Split3 s;
  for (int i = 0; i < d; ++i) s.outer *= shape[i];
  s.len = shape[d];
  for (size_t i = d + 1; i < shape.size(); ++i) s.inner *= shape[i];
  return s;
}

int normDim(int64_t d, int rank) { return static_cast<int>(d < 0 ? d + rank : d); }

std::vector<double> reduceAll(const std::vector<const Tensor*>& in, ir::ReduceOp op) {
  std::vector<double> acc = in[0]->data();
  for (size_t m = 1; m < in.size(); ++m)
    for (size_t i = 0; i < acc.size(); ++i) {
      double v = (*in[m])[static_cast<int64_t>(i)];
      switch (op) {
        case ir::ReduceOp::Sum: acc[i] += v; break;
        case ir::ReduceOp::Max: acc[i] = std::max(acc[i], v); break;
        case ir::ReduceOp::Min: acc[i] = std::min(acc[i], v); break;
      }
    }
  return acc;
}

// Chunk `c` of `n` equal chunks of `data` (shape `shape`) along dim d.
std::vector<double> chunk(const std::vector<double>& data, const std::vector<int64_t>& shape, int d,
                          int64_t n, int64_t c) {
  Split3 s = split3(shape, d);
  int64_t len = s.len / n;
  std::vector<double> out;
  out.reserve(s.outer * len * s.inner);
  for (int64_t o = 0; o < s.outer; ++o) {
    const double* src = data.data() + (o * s.len + c * len) * s.inner;
    out.insert(out.end(), src, src + len * s.inner);
  }
  return out;
}

// Concatenation along dim d of equally shaped pieces (shape `pieceShape`).
std::vector<double> concat(const std::vector<std::vector<double>>& pieces,
                           const std::vector<int64_t>& pieceShape, int d) {
  Split3 s = split3(pieceShape, d);
  std::vector<double> out;
  out.reserve(pieces.size() * s.outer * s.len * s.inner);
  for (int64_t o = 0; o < s.outer; ++o)
    for (const auto& p : pieces) {
      const double* src = p.data() + o * s.len * s.inner;
      out.insert(out.end(), src, src + s.len * s.inner);
    }
  return out;
}

std::string signatureOf(const ir::Op& op, const Tensor& x) {
  std::string s = std::string(op.mnemonic()) + " " + ir::dtypeName(x.dtype()) + x.shapeStr();
  const auto& specs = op.info().attrs;
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& slot = op.attrSlot(static_cast<int>(i));
    if (!slot) continue;
    s += std::string(" ") + specs[i].name + "=";
    if (auto* v = std::get_if<int64_t>(&*slot)) s += std::to_string(*v);
    else if (auto* l = std::get_if<std::vector<int64_t>>(&*slot)) s += ir::intListStr(*l);
    else if (auto* e = std::get_if<ir::EnumAttr>(&*slot)) s += e->str();
    else if (auto* a = std::get_if<ir::AxisList>(&*slot)) {
      for (const auto& n : a->axes) s += n + ",";
    }
  }
  return s;
}

}  // namespace

StatusOr<std::vector<Tensor>> SimulatedRank::collective(const ir::EvalContext& ctx) {
  const ir::Op& op = ctx.op;
  std::string who = "rank " + std::to_string(rank_) + " in " + op.mnemonic() + " at " +
                    op.loc().str();
  if (const ir::AttrValue* m = op.attr("mesh"); m && std::get<ir::MeshRef>(*m).name != mesh_.name)
    return ctx.error("runs on mesh @" + std::get<ir::MeshRef>(*m).name + ", this rank on @" +
                     mesh_.name);
  const auto& axes = op.attrAs<ir::AxisList>("axes").axes;
  int64_t n = 1;
  for (const std::string& a : axes) {
    auto size = mesh_.axisSize(a);
    if (!size) return ctx.error("mesh @" + mesh_.name + " has no axis '" + a + "'");
    n *= *size;
  }
  if (op.kind() == ir::OpKind::Send || op.kind() == ir::OpKind::Recv) {
    int64_t peer = op.intAttr("peer");
    if (peer < 0 || peer >= n)
      return ctx.error("peer " + std::to_string(peer) + " is outside its group of " + std::to_string(n));
    int64_t q = groupMember(mesh_, rank_, axes, peer);
    if (op.kind() == ir::OpKind::Send) {
      const Tensor& x = *ctx.operands[0];
      rv_.post(rank_, q, x, std::string(ir::dtypeName(x.dtype())) + x.shapeStr());
      return std::vector<Tensor>{};
    }
    std::string sig = std::string(ir::dtypeName(ctx.resultDTypes[0])) + ir::intListStr(ctx.resultShapes[0]);
    TRY_ASSIGN(Tensor t, rv_.take(q, rank_, sig, who));
    return std::vector<Tensor>{std::move(t)};
  }
  // The group: ranks equal to this one on every axis not in `axes`.
  std::string key;
  for (const std::string& a : axes) key += a + ",";
  key += "|";
  for (size_t i = 0; i < mesh_.axes.size(); ++i)
    if (std::find(axes.begin(), axes.end(), mesh_.axes[i].name) == axes.end())
      key += mesh_.axes[i].name + "=" + std::to_string(coords_[i]) + ",";
  int64_t seq = sequence_[key]++;
  int pos = static_cast<int>(groupPosition(mesh_, coords_, axes));
  const Tensor& x = *ctx.operands[0];
  TRY_ASSIGN(std::vector<const Tensor*> all,
             rv_.arrive(key, seq, static_cast<int>(n), pos, &x, signatureOf(op, x), who));

  const std::vector<int64_t>& outShape = ctx.resultShapes[0];
  std::vector<double> out;
  auto reduceOp = op.info().attrIndex("op") >= 0 ? op.enumAttr("op", ir::ReduceOp::Sum)
                                                 : ir::ReduceOp::Sum;
  switch (op.kind()) {
    case ir::OpKind::AllReduce: out = reduceAll(all, reduceOp); break;
    case ir::OpKind::ReduceScatter: {
      int d = normDim(op.intAttr("dim"), x.rank());
      out = chunk(reduceAll(all, reduceOp), x.shape(), d, n, pos);
      break;
    }
    case ir::OpKind::AllGather: {
      std::vector<std::vector<double>> pieces;
      for (const Tensor* t : all) pieces.push_back(t->data());
      out = concat(pieces, x.shape(), normDim(op.intAttr("dim"), x.rank()));
      break;
    }
    case ir::OpKind::AllToAll: {
      int split = normDim(op.intAttr("split_dim"), x.rank());
      int cat = normDim(op.intAttr("concat_dim"), x.rank());
      std::vector<std::vector<double>> pieces;
      std::vector<int64_t> pieceShape = x.shape();
      pieceShape[split] /= n;
      for (const Tensor* t : all) pieces.push_back(chunk(t->data(), t->shape(), split, n, pos));
      out = concat(pieces, pieceShape, cat);
      break;
    }
    case ir::OpKind::CollectivePermute: {
      const auto& pairs = op.attrAs<std::vector<int64_t>>("pairs");
      out.assign(x.numElements(), 0.0);
      for (size_t i = 0; i + 1 < pairs.size(); i += 2)
        if (pairs[i + 1] == pos) out = all[pairs[i]]->data();
      break;
    }
    case ir::OpKind::Broadcast: out = all[op.intAttr("root")]->data(); break;
    default: return ctx.error("is not a collective the in-process executor knows");
  }
  Tensor result(ctx.resultDTypes[0], outShape, std::move(out));
  TRY(rv_.finish(key, seq, static_cast<int>(n), who));
  return std::vector<Tensor>{std::move(result)};
}

}  // namespace tessera::partition
