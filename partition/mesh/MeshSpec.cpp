// Implementation of the `--mesh` flag parser (see MeshSpec.h).
#include "partition/mesh/MeshSpec.h"

#include <cctype>
#include <limits>
#include <set>

namespace tessera::partition {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

}  // namespace

StatusOr<ir::Mesh> parseMeshSpec(std::string_view spec, std::string name) {
  const std::string where = "--mesh '" + std::string(spec) + "'";
  if (trim(spec).empty()) return Status::error(where + ": empty mesh (expected e.g. dp=2,tp=2)");
  std::vector<ir::MeshAxis> axes;
  std::set<std::string> seen;
  int64_t product = 1;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string_view item = trim(spec.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? spec.size() + 1 : comma + 1;
    size_t eq = item.find('=');
    if (item.empty()) return Status::error(where + ": empty axis entry");
    if (eq == std::string_view::npos)
      return Status::error(where + ": axis entry '" + std::string(item) +
                           "' must be NAME=SIZE (e.g. dp=2)");
    std::string axis(trim(item.substr(0, eq)));
    std::string_view sizeText = trim(item.substr(eq + 1));
    if (!isIdentifier(axis))
      return Status::error(where + ": axis name '" + axis + "' is not an identifier");
    if (!seen.insert(axis).second) return Status::error(where + ": axis '" + axis + "' named twice");
    bool neg = !sizeText.empty() && sizeText[0] == '-';
    std::string_view digits = neg ? sizeText.substr(1) : sizeText;
    int64_t size = 0;
    bool ok = !digits.empty();
    for (char c : digits) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || size > (std::numeric_limits<int32_t>::max() / 10)) {
        ok = false;
        break;
      }
      size = size * 10 + (c - '0');
    }
    if (!ok)
      return Status::error(where + ": size of axis '" + axis + "' must be a positive integer, got '" +
                           std::string(sizeText) + "'");
    if (neg || size <= 0)
      return Status::error(where + ": size of axis '" + axis + "' must be positive, got " +
                           std::string(sizeText));
    product *= size;
    if (product > (int64_t{1} << 24))
      return Status::error(where + ": too many devices (more than 16777216)");
    axes.push_back(ir::MeshAxis{axis, size});
  }
  return ir::Mesh::make(std::move(name), std::move(axes));
}

Status checkMeshRanks(const ir::Mesh& mesh, int64_t ranks) {
  if (mesh.numDevices() != ranks) {
    std::string s;
    for (const auto& a : mesh.axes) s += (s.empty() ? "" : "x") + a.name + "=" + std::to_string(a.size);
    return Status::error("mesh " + s + " has " + std::to_string(mesh.numDevices()) +
                         " devices but the job has " + std::to_string(ranks) + " ranks");
  }
  return Status::ok();
}

}  // namespace tessera::partition
