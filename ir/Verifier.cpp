// The module verifier (see Verifier.h for the invariants it guarantees to passes).
//
// Checks run in dependency order — meshes, then symbols, then everything that uses them — so
// that each check may rely on the earlier ones (a sharding is only checked against a mesh that
// is itself consistent). The first violation is returned, located at the offending op or
// declaration. Required attributes and operand definitions are checked before an op's shape rule
// runs, because shape rules may assume both.
#include "ir/Verifier.h"

#include <cstdint>
#include <numeric>
#include <set>
#include <string>
#include <unordered_set>

namespace tessera::ir {
namespace {

class Verifier {
 public:
  explicit Verifier(const Module& m) : m_(m) {}
  Status run();

 private:
  Status checkMeshes();
  Status checkSymbols();
  Status checkDim(const Dim& d, const TensorType& t, const Location& loc,
                  const std::string& what) const;
  Status checkType(const TensorType& t, const Location& loc, const std::string& what) const;
  Status checkSharding(const std::optional<Sharding>& s, int rank, const Location& loc,
                       const std::string& what) const;
  Status checkParams();
  Status checkFunction(const Function& f);
  Status checkOp(const Op& op, const std::unordered_set<const Value*>& defined);

  const Module& m_;
};

Status Verifier::checkMeshes() {
  std::set<std::string> names;
  for (size_t i = 0; i < m_.meshes.size(); ++i) {
    const Mesh& mesh = m_.meshes[i];
    if (!names.insert(mesh.name).second)
      return Status::error(mesh.loc, "mesh @" + mesh.name + " is declared twice");
    // Mesh::check multiplies the sizes in int64; rule out overflow first.
    uint64_t product = 1;
    for (const MeshAxis& a : mesh.axes) {
      if (a.size <= 0) break;  // Mesh::check reports it
      if (__builtin_mul_overflow(product, static_cast<uint64_t>(a.size), &product) ||
          product > static_cast<uint64_t>(INT64_MAX))
        return Status::error(mesh.loc, "mesh @" + mesh.name +
                                           " has more devices than fit in 64 bits");
    }
    TRY(mesh.check());
    if (!mesh.isSubMesh()) {
      if (!mesh.fixed.empty())
        return Status::error(mesh.loc, "mesh @" + mesh.name + " fixes axes but has no parent");
      continue;
    }
    const Mesh* parent = nullptr;
    for (size_t j = 0; j < i; ++j)
      if (m_.meshes[j].name == mesh.parent) parent = &m_.meshes[j];
    if (!parent)
      return Status::error(mesh.loc, "sub-mesh @" + mesh.name + " names parent @" + mesh.parent +
                                         (m_.findMesh(mesh.parent)
                                              ? ", which is declared after it"
                                              : ", which is not declared"));
    auto slice = Mesh::subMesh(mesh.name, *parent, mesh.fixed);
    if (!slice)
      return Status::error(mesh.loc, "sub-mesh @" + mesh.name + ": " +
                                         slice.status().message().substr(7));  // drop "error: "
    if (slice->axes != mesh.axes)
      return Status::error(mesh.loc, "sub-mesh @" + mesh.name +
                                         " has axes that differ from the slice of @" +
                                         parent->name + " it names");
    if (slice->devices != mesh.devices)
      return Status::error(mesh.loc, "sub-mesh @" + mesh.name +
                                         " lists devices that differ from the slice of @" +
                                         parent->name + " it names");
  }
  return Status::ok();
}

Status Verifier::checkSymbols() {
  std::set<std::string> names;
  for (const SymbolDecl& s : m_.symbols) {
    if (!names.insert(s.name).second)
      return Status::error(s.loc, "symbol " + s.name + " is declared twice");
    if (s.divisibleBy < 1)
      return Status::error(s.loc, "symbol " + s.name + " has divisible_by " +
                                      std::to_string(s.divisibleBy) + "; it must be at least 1");
  }
  return Status::ok();
}

// A term c*m with c = p/q is an integer for every allowed symbol value when q divides p times
// the product of the divisibility facts of m's symbols. This is sufficient, not necessary
// (B*(B+1)/2 is whole but rejected); Tessera only forms divisions by mesh axis sizes, for which it
// is exact. Computed by cancelling q against each factor, so nothing overflows.
Status Verifier::checkDim(const Dim& d, const TensorType& t, const Location& loc,
                          const std::string& what) const {
  for (const std::string& s : d.symbols())
    if (!m_.findSymbol(s))
      return Status::error(loc, what + " has type " + t.str() + " which uses undeclared symbol " +
                                    s);
  for (const auto& [mono, c] : d.terms()) {
    uint64_t num = c.num < 0 ? 0 - static_cast<uint64_t>(c.num) : static_cast<uint64_t>(c.num);
    uint64_t rest = static_cast<uint64_t>(c.den) / std::gcd(static_cast<uint64_t>(c.den), num);
    for (const std::string& s : mono)
      rest /= std::gcd(rest, static_cast<uint64_t>(m_.findSymbol(s)->divisibleBy));
    if (rest == 1) continue;
    std::string prefix = what + " has type " + t.str() + " whose dimension '" + d.str() + "' ";
    if (mono.empty()) return Status::error(loc, prefix + "is not an integer");
    std::string term = c.num == 1 ? "" : std::to_string(c.num) + "*";
    std::string facts;
    for (size_t i = 0; i < mono.size(); ++i) {
      term += (i ? "*" : "") + mono[i];
      facts += std::string(i ? ", " : "") + mono[i] + " divisible_by " +
               std::to_string(m_.findSymbol(mono[i])->divisibleBy);
    }
    return Status::error(loc, prefix + "may not be an integer: it divides " + term + " by " +
                                  std::to_string(c.den) + ", but the symbols are only declared " +
                                  facts);
  }
  return Status::ok();
}

Status Verifier::checkType(const TensorType& t, const Location& loc,
                           const std::string& what) const {
  for (const Dim& d : t.shape) TRY(checkDim(d, t, loc, what));
  return Status::ok();
}

Status Verifier::checkSharding(const std::optional<Sharding>& s, int rank, const Location& loc,
                               const std::string& what) const {
  if (!s) return Status::ok();
  const Mesh* mesh = s->mesh.empty() ? m_.defaultMesh() : m_.findMesh(s->mesh);
  if (!mesh) {
    if (!s->mesh.empty())
      return Status::error(loc, what + " is sharded over unknown mesh @" + s->mesh);
    return Status::error(loc, what + " is sharded but names no mesh, and the module has " +
                                  (m_.meshes.empty() ? std::string("none")
                                                     : std::to_string(m_.meshes.size())));
  }
  return s->check(*mesh, rank, loc);
}

Status Verifier::checkParams() {
  std::set<std::string> names;
  for (const Parameter& p : m_.params) {
    std::string what = "parameter " + p.name;
    if (!names.insert(p.name).second)
      return Status::error(p.loc, what + " is declared twice");
    TRY(checkType(p.type, p.loc, what));
    TRY(checkSharding(p.sharding, p.type.rank(), p.loc, what));
    if (!p.init) continue;
    if (p.init->dtype() != p.type.dtype)
      return Status::error(p.loc, what + " has type " + p.type.str() + " but its initial value is " +
                                      dtypeName(p.init->dtype()));
    bool same = p.init->rank() == p.type.rank();
    for (int i = 0; same && i < p.type.rank(); ++i) {
      auto c = p.type.shape[i].constant();
      same = c && *c == p.init->shape()[i];
    }
    if (!same)
      return Status::error(p.loc, what + " has type " + p.type.str() +
                                      " but its initial value has shape " + p.init->shapeStr());
  }
  return Status::ok();
}

Status Verifier::checkOp(const Op& op, const std::unordered_set<const Value*>& defined) {
  const Function& f = *op.function();
  std::string name = std::string(op.mnemonic());
  for (int i = 0; i < op.numOperands(); ++i) {
    const Value* v = op.operand(i);
    std::string what = name + ": operand " + std::to_string(i);
    if (!v) return Status::error(op.loc(), what + " is null");
    if (v->function() != &f)
      return Status::error(op.loc(), what + " is a value of another function" +
                                         (v->function() ? " (@" + v->function()->name() + ")"
                                                        : std::string()));
    if (!defined.count(v))
      return Status::error(op.loc(), what + (v->name().empty() ? "" : " (%" + v->name() + ")") +
                                         " is used before it is defined");
  }
  for (const AttrSpec& a : op.info().attrs)
    if (a.required && !op.hasAttr(a.name))
      return Status::error(op.loc(), name + ": missing required attribute '" + a.name + "'");
  // inferResultTypes compares with the current result types and names any difference.
  auto inferred = inferResultTypes(op);
  if (!inferred) return inferred.status();
  for (int i = 0; i < op.numResults(); ++i) {
    const Value* r = op.result(i);
    std::string what = name + " result " + std::to_string(i);
    TRY(checkType(r->type(), op.loc(), what));
    TRY(checkSharding(r->sharding(), r->type().rank(), op.loc(), what));
  }
  return Status::ok();
}

Status Verifier::checkFunction(const Function& f) {
  std::set<std::string> names;
  auto checkName = [&](const Value* v, const Location& loc) -> Status {
    // Unnamed values are numbered by the printer, so only explicit names can clash.
    if (!v->name().empty() && !names.insert(v->name()).second)
      return Status::error(loc, "@" + f.name() + ": value name %" + v->name() +
                                    " is defined twice");
    return Status::ok();
  };
  std::unordered_set<const Value*> defined;
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* a = f.argument(i);
    std::string what = "@" + f.name() + " argument " + std::to_string(i);
    TRY(checkName(a, f.loc));
    TRY(checkType(a->type(), f.loc, what));
    TRY(checkSharding(a->sharding(), a->type().rank(), f.loc, what));
    defined.insert(a);
  }
  for (const auto& op : f.ops()) {
    TRY(checkOp(*op, defined));
    for (int i = 0; i < op->numResults(); ++i) {
      TRY(checkName(op->result(i), op->loc()));
      defined.insert(op->result(i));
    }
  }
  for (size_t i = 0; i < f.results().size(); ++i) {
    const Value* v = f.results()[i];
    std::string what = "@" + f.name() + " result " + std::to_string(i);
    if (!v) return Status::error(f.returnLoc, what + " is null");
    if (!defined.count(v))
      return Status::error(f.returnLoc, what + " is not a value of @" + f.name());
  }
  return Status::ok();
}

Status Verifier::run() {
  TRY(checkMeshes());
  TRY(checkSymbols());
  TRY(checkParams());
  std::set<std::string> names;
  for (const auto& f : m_.functions()) {
    if (!names.insert(f->name()).second)
      return Status::error(f->loc, "function @" + f->name() + " is declared twice");
    TRY(checkFunction(*f));
  }
  return Status::ok();
}

}  // namespace

Status verifyModule(const Module& m) { return Verifier(m).run(); }

}  // namespace tessera::ir
