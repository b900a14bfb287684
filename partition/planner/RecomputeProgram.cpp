// The per-layer recompute program (RecomputeProgram.h): CBC when built with it, else an exact
// Pareto DP over the kinds.
#include "partition/planner/RecomputeProgram.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#ifdef TESSERA_HAVE_CBC
#include <CbcModel.hpp>
#include <CoinPackedMatrix.hpp>
#include <CoinPackedVector.hpp>
#include <OsiClpSolverInterface.hpp>
#endif

namespace tessera::partition::planner {

namespace {

double tolerance(const RecomputeProblem& p) { return 1e-9 * p.limitBytes; }

Status validate(const RecomputeProblem& p) {
  auto bad = [](const std::string& m) { return Status::error("recompute program: " + m); };
  if (p.kinds.empty()) return bad("no layer kinds");
  const size_t items = p.kinds[0].seconds.size();
  if (items == 0) return bad("no menu items");
  if (!(p.limitBytes > 0) || !std::isfinite(p.limitBytes)) return bad("the memory limit must be positive");
  if (!std::isfinite(p.fixedBytes) || p.fixedBytes < 0) return bad("the fixed memory must be finite and >= 0");
  for (const RecomputeKind& k : p.kinds) {
    if (k.seconds.size() != items || k.bytes.size() != items)
      return bad("kind '" + k.name + "' has " + std::to_string(k.seconds.size()) + " times and " +
                 std::to_string(k.bytes.size()) + " sizes, expected " + std::to_string(items));
    if (k.count < 0) return bad("kind '" + k.name + "' has a negative layer count");
    for (size_t i = 0; i < items; ++i)
      if (!std::isfinite(k.seconds[i]) || !std::isfinite(k.bytes[i]) || k.seconds[i] < 0 || k.bytes[i] < 0)
        return bad("kind '" + k.name + "' item " + std::to_string(i) + " has a negative or non-finite coefficient");
  }
  return Status::ok();
}

// Time and memory of `counts`, computed the same way for both solvers.
void evaluate(const RecomputeProblem& p, RecomputeSolution& s) {
  s.seconds = 0;
  s.bytes = p.fixedBytes;
  for (size_t k = 0; k < p.kinds.size(); ++k)
    for (size_t i = 0; i < s.counts[k].size(); ++i) {
      s.seconds += static_cast<double>(s.counts[k][i]) * p.kinds[k].seconds[i];
      s.bytes += static_cast<double>(s.counts[k][i]) * p.kinds[k].bytes[i];
    }
}

// One kind's non-dominated compositions: (bytes ascending, seconds strictly descending).
struct Choice {
  double seconds, bytes;
  std::vector<int64_t> counts;
};

std::vector<Choice> kindFrontier(const RecomputeKind& k) {
  const size_t items = k.seconds.size();
  // Items another item beats on both terms never appear in an optimum (ties keep the first).
  std::vector<size_t> useful;
  for (size_t i = 0; i < items; ++i) {
    bool dominated = false;
    for (size_t j = 0; j < items && !dominated; ++j)
      dominated = j != i && k.seconds[j] <= k.seconds[i] && k.bytes[j] <= k.bytes[i] &&
                  (k.seconds[j] < k.seconds[i] || k.bytes[j] < k.bytes[i] || j < i);
    if (!dominated) useful.push_back(i);
  }
  std::vector<Choice> all;
  std::vector<int64_t> c(items, 0);
  // Every composition of k.count over the useful items.
  auto rec = [&](auto&& self, size_t u, int64_t left) -> void {
    if (u + 1 == useful.size()) {
      c[useful[u]] = left;
      Choice ch{0, 0, c};
      for (size_t i = 0; i < items; ++i) {
        ch.seconds += static_cast<double>(c[i]) * k.seconds[i];
        ch.bytes += static_cast<double>(c[i]) * k.bytes[i];
      }
      all.push_back(std::move(ch));
      return;
    }
    for (int64_t n = 0; n <= left; ++n) {
      c[useful[u]] = n;
      self(self, u + 1, left - n);
    }
    c[useful[u]] = 0;
  };
  rec(rec, 0, k.count);
  std::sort(all.begin(), all.end(), [](const Choice& a, const Choice& b) {
    return a.bytes != b.bytes ? a.bytes < b.bytes : a.seconds < b.seconds;
  });
  std::vector<Choice> front;
  for (Choice& ch : all)
    if (front.empty() || ch.seconds < front.back().seconds) front.push_back(std::move(ch));
  return front;
}

RecomputeSolution solveExact(const RecomputeProblem& p) {
  // DP over kinds: the non-dominated (bytes, seconds) partial sums of the kinds so far, each
  // with a back-pointer (its predecessor in the previous level and its choice for this kind).
  struct Node {
    double seconds, bytes;
    int64_t prev;
    size_t choice;
  };
  const double budget = p.limitBytes + tolerance(p) - p.fixedBytes;
  std::vector<std::vector<Choice>> fronts;
  std::vector<std::vector<Node>> levels{{Node{0, 0, -1, 0}}};
  for (const RecomputeKind& k : p.kinds) {
    fronts.push_back(kindFrontier(k));
    const std::vector<Node>& cur = levels.back();
    std::vector<Node> next;
    for (size_t a = 0; a < cur.size(); ++a)
      for (size_t f = 0; f < fronts.back().size(); ++f) {
        const Choice& ch = fronts.back()[f];
        Node n{cur[a].seconds + ch.seconds, cur[a].bytes + ch.bytes, static_cast<int64_t>(a), f};
        if (n.bytes <= budget) next.push_back(n);
      }
    std::sort(next.begin(), next.end(), [](const Node& a, const Node& b) {
      return a.bytes != b.bytes ? a.bytes < b.bytes : a.seconds < b.seconds;
    });
    std::vector<Node> kept;
    for (const Node& n : next)
      if (kept.empty() || n.seconds < kept.back().seconds) kept.push_back(n);
    levels.push_back(std::move(kept));
  }
  RecomputeSolution s;
  s.solver = "exact";
  if (levels.back().empty()) return s;
  // The frontier's seconds descend with bytes: its last node is the fastest that fits.
  int64_t at = static_cast<int64_t>(levels.back().size()) - 1;
  s.counts.assign(p.kinds.size(), {});
  for (size_t k = p.kinds.size(); k-- > 0;) {
    const Node& n = levels[k + 1][static_cast<size_t>(at)];
    s.counts[k] = fronts[k][n.choice].counts;
    at = n.prev;
  }
  s.feasible = true;
  return s;
}

#ifdef TESSERA_HAVE_CBC
StatusOr<RecomputeSolution> solveCbc(const RecomputeProblem& p) {
  const size_t K = p.kinds.size(), I = p.kinds[0].seconds.size();
  // Scale both rows to O(1) coefficients so CBC's absolute tolerances mean the same at any size.
  double tScale = 0, bScale = p.limitBytes;
  for (const RecomputeKind& k : p.kinds)
    for (double t : k.seconds) tScale = std::max(tScale, t);
  if (tScale <= 0) tScale = 1;
  double rhs = (p.limitBytes + tolerance(p) - p.fixedBytes) / bScale;
  RecomputeSolution s;
  s.solver = "cbc";
  // CBC accepts rows violated by its primal tolerance; a solution over the limit by more than
  // ours is re-solved with the row tightened by the excess.
  // CbcModel directly (not CbcMain's command-line driver, which costs milliseconds a call):
  // plain branch and bound on the LP relaxation, no cuts or heuristics for a few dozen variables.
  for (int attempt = 0; attempt < 4; ++attempt) {
    CoinPackedMatrix rows(false, 0, 0);
    rows.setDimensions(0, static_cast<int>(K * I));
    std::vector<double> colLo(K * I, 0.0), colHi(K * I), obj(K * I), rowLo, rowHi;
    CoinPackedVector memory;
    for (size_t k = 0; k < K; ++k) {
      CoinPackedVector count;
      for (size_t i = 0; i < I; ++i) {
        const int j = static_cast<int>(k * I + i);
        colHi[static_cast<size_t>(j)] = static_cast<double>(p.kinds[k].count);
        obj[static_cast<size_t>(j)] = p.kinds[k].seconds[i] / tScale;
        count.insert(j, 1.0);
        if (p.kinds[k].bytes[i] > 0) memory.insert(j, p.kinds[k].bytes[i] / bScale);
      }
      rows.appendRow(count);
      rowLo.push_back(static_cast<double>(p.kinds[k].count));
      rowHi.push_back(static_cast<double>(p.kinds[k].count));
    }
    rows.appendRow(memory);
    rowLo.push_back(-COIN_DBL_MAX);
    rowHi.push_back(rhs);
    OsiClpSolverInterface lp;
    lp.messageHandler()->setLogLevel(0);
    lp.loadProblem(rows, colLo.data(), colHi.data(), obj.data(), rowLo.data(), rowHi.data());
    for (size_t j = 0; j < K * I; ++j) lp.setInteger(static_cast<int>(j));
    lp.setDblParam(OsiPrimalTolerance, 1e-10);
    CbcModel model(lp);
    model.setLogLevel(0);
    model.messageHandler()->setLogLevel(0);
    model.solver()->messageHandler()->setLogLevel(0);
    model.setAllowableGap(0);
    model.setAllowableFractionGap(0);
    model.setIntegerTolerance(1e-9);
    model.branchAndBound();
    if (model.isProvenInfeasible()) return s;
    if (!model.isProvenOptimal() || !model.bestSolution())
      return Status::error("recompute program: CBC did not prove optimality");
    const double* x = model.bestSolution();
    s.counts.assign(K, std::vector<int64_t>(I, 0));
    for (size_t k = 0; k < K; ++k) {
      int64_t sum = 0;
      for (size_t i = 0; i < I; ++i) sum += s.counts[k][i] = std::llround(x[k * I + i]);
      assert(sum == p.kinds[k].count && "CBC's counts must sum to the kind's layers");
    }
    evaluate(p, s);
    const double excess = s.bytes - (p.limitBytes + tolerance(p));
    if (excess <= 0) {
      s.feasible = true;
      return s;
    }
    rhs -= excess / bScale * 1.001 + 1e-12;
    s.counts.clear();
  }
  return s;
}
#endif

}  // namespace

bool cbcAvailable() {
#ifdef TESSERA_HAVE_CBC
  return true;
#else
  return false;
#endif
}

StatusOr<RecomputeSolution> solveRecompute(const RecomputeProblem& p, RecomputeSolver solver) {
  TRY(validate(p));
  if (solver == RecomputeSolver::Cbc && !cbcAvailable())
    return Status::error("recompute program: CBC was requested but Tessera was built without it "
                         "(install coinor-libcbc-dev and re-run cmake)");
  double minBytes = p.fixedBytes;
  for (const RecomputeKind& k : p.kinds)
    minBytes += static_cast<double>(k.count) * *std::min_element(k.bytes.begin(), k.bytes.end());
  RecomputeSolution s;
  const bool cbc = solver == RecomputeSolver::Cbc || (solver == RecomputeSolver::Auto && cbcAvailable());
  s.solver = cbc ? "cbc" : "exact";
  if (minBytes > p.limitBytes + tolerance(p)) {
    // Nothing fits: every layer on its smallest item is the least memory there is.
    s.minBytes = minBytes;
    return s;
  }
#ifdef TESSERA_HAVE_CBC
  if (cbc) {
    TRY_ASSIGN(s, solveCbc(p));
  } else {
    s = solveExact(p);
  }
#else
  s = solveExact(p);
#endif
  s.minBytes = minBytes;
  if (s.feasible) evaluate(p, s);
  return s;
}

}  // namespace tessera::partition::planner
