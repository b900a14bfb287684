// Sharding printing and checks against a mesh.
#include "ir/Sharding.h"

#include <set>

namespace tessera::ir {

const char* partialKindName(PartialKind k) { return k == PartialKind::Sum ? "sum" : "max"; }

Sharding Sharding::replicated(int rank) {
  Sharding s;
  s.dims.resize(rank);
  return s;
}

Sharding Sharding::open(int rank) {
  Sharding s;
  s.dims.resize(rank);
  for (DimSharding& d : s.dims) d.open = true;
  return s;
}

std::vector<std::string> Sharding::usedAxes() const {
  std::vector<std::string> out;
  for (const DimSharding& d : dims) out.insert(out.end(), d.axes.begin(), d.axes.end());
  for (const auto& p : partial) out.push_back(p.first);
  return out;
}

bool Sharding::isFullyReplicated() const {
  for (const DimSharding& d : dims)
    if (!d.axes.empty() || d.open) return false;
  return partial.empty();
}

std::string Sharding::str() const {
  std::string out = mesh.empty() ? "" : "@" + mesh;
  out += "{";
  for (size_t i = 0; i < dims.size(); ++i) {
    const DimSharding& d = dims[i];
    if (i) out += ", ";
    if (d.open) {
      out += "?";
    } else if (d.axes.empty()) {
      out += "-";
    } else if (d.axes.size() == 1) {
      out += d.axes[0];
    } else {
      out += "(";
      for (size_t j = 0; j < d.axes.size(); ++j) out += (j ? "," : "") + d.axes[j];
      out += ")";
    }
    if (d.priority) out += ":p" + std::to_string(*d.priority);
  }
  out += "}";
  if (!partial.empty()) {
    out += " partial{";
    for (size_t i = 0; i < partial.size(); ++i)
      out += (i ? ", " : "") + partial[i].first + ":" + partialKindName(partial[i].second);
    out += "}";
  }
  return out;
}

Status Sharding::check(const Mesh& m, int rank, const Location& loc) const {
  if (static_cast<int>(dims.size()) != rank)
    return Status::error(loc, "sharding " + str() + " has " + std::to_string(dims.size()) +
                                  " dimensions but the value has rank " + std::to_string(rank));
  std::set<std::string> seen;
  for (const DimSharding& d : dims) {
    if (d.open && !d.axes.empty())
      return Status::error(loc, "sharding " + str() + ": an open dimension cannot list axes");
    if (d.priority && *d.priority < 0)
      return Status::error(loc, "sharding " + str() + ": priorities must be non-negative");
  }
  for (const std::string& a : usedAxes()) {
    if (!m.axisSize(a))
      return Status::error(loc, "sharding " + str() + " names axis '" + a +
                                    "' which mesh @" + m.name + " does not have");
    if (!seen.insert(a).second)
      return Status::error(loc, "sharding " + str() + " uses axis '" + a + "' more than once");
  }
  return Status::ok();
}

}  // namespace tessera::ir
