// Mesh descriptions, coordinates and per-axis splits (see Mesh.h).
#include "comm/Mesh.h"

#include <cctype>
#include <climits>

namespace tessera::comm {

long long MeshDesc::deviceCount() const {
  long long n = 1;
  for (const auto& a : axes) {
    n *= a.size;
    if (n > INT_MAX || n < 0) return -1;  // beyond any rank count; validateMesh reports it
  }
  return n;
}

std::string MeshDesc::str() const {
  std::string s;
  for (const auto& a : axes) {
    if (!s.empty()) s += ",";
    s += a.name + "=" + std::to_string(a.size);
  }
  return s;
}

StatusOr<MeshDesc> parseMesh(const std::string& text) {
  MeshDesc mesh;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    size_t eq = item.find('=');
    auto bad = [&](const std::string& why) {
      return Status::error("mesh '" + text + "': axis '" + item + "' (at column " +
                           std::to_string(pos + 1) + "): " + why);
    };
    if (eq == std::string::npos) return bad("expected name=size");
    std::string name = item.substr(0, eq), size = item.substr(eq + 1);
    if (name.empty()) return bad("empty axis name");
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
        return bad("axis names use letters, digits and '_'");
    if (size.empty() || size.size() > 9) return bad("expected a size between 1 and 999999999");
    for (char c : size)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return bad("expected a size between 1 and 999999999");
    int n = std::stoi(size);
    if (n <= 0) return bad("axis size must be > 0");
    mesh.axes.push_back({name, n});
    pos = comma + 1;
  }
  return mesh;
}

Status validateMesh(const MeshDesc& mesh, int worldSize) {
  const std::string where = "mesh '" + mesh.str() + "': ";
  if (mesh.axes.empty()) return Status::error(where + "no axes");
  for (size_t i = 0; i < mesh.axes.size(); ++i) {
    const auto& a = mesh.axes[i];
    if (a.name.empty()) return Status::error(where + "axis " + std::to_string(i) + " has no name");
    if (a.size <= 0)
      return Status::error(where + "axis '" + a.name + "' has size " + std::to_string(a.size));
    for (size_t j = 0; j < i; ++j)
      if (mesh.axes[j].name == a.name)
        return Status::error(where + "axis '" + a.name + "' is named twice");
  }
  long long n = mesh.deviceCount();
  if (n != worldSize)
    return Status::error(where + "needs " + (n < 0 ? std::string("too many") : std::to_string(n)) +
                         " ranks, but the job has " + std::to_string(worldSize));
  return Status::ok();
}

std::vector<int> meshCoords(const MeshDesc& mesh, int rank) {
  std::vector<int> coords(mesh.axes.size());
  for (size_t i = mesh.axes.size(); i-- > 0;) {
    coords[i] = rank % mesh.axes[i].size;
    rank /= mesh.axes[i].size;
  }
  return coords;
}

StatusOr<AxisGroup> axisGroup(const MeshDesc& mesh, const std::vector<std::string>& axes,
                              int rank) {
  const std::string where = "mesh '" + mesh.str() + "': ";
  if (axes.empty()) return Status::error(where + "no axes to split over");
  std::vector<int> selected(mesh.axes.size(), -1);  // position in `axes`, or -1
  for (size_t k = 0; k < axes.size(); ++k) {
    size_t i = 0;
    while (i < mesh.axes.size() && mesh.axes[i].name != axes[k]) ++i;
    if (i == mesh.axes.size()) return Status::error(where + "no axis named '" + axes[k] + "'");
    if (selected[i] >= 0) return Status::error(where + "axis '" + axes[k] + "' listed twice");
    selected[i] = static_cast<int>(k);
  }
  std::vector<int> coords = meshCoords(mesh, rank);
  AxisGroup g;
  g.groupSize = 1;
  for (size_t i = 0; i < mesh.axes.size(); ++i)
    if (selected[i] < 0) g.color = g.color * mesh.axes[i].size + coords[i];
  for (const auto& name : axes)
    for (size_t i = 0; i < mesh.axes.size(); ++i)
      if (mesh.axes[i].name == name) {
        g.key = g.key * mesh.axes[i].size + coords[i];
        g.groupSize *= mesh.axes[i].size;
      }
  return g;
}

StatusOr<std::unique_ptr<Communicator>> splitForAxes(Communicator& world, const MeshDesc& mesh,
                                                     const std::vector<std::string>& axes) {
  TESSERA_COMM_TRY(validateMesh(mesh, world.size()));
  auto g = axisGroup(mesh, axes, world.rank());
  if (!g.isOk()) return g.status();
  std::string name;
  for (const auto& a : axes) name += (name.empty() ? "" : ",") + a;
  auto sub = world.split(g->color, g->key, name);
  if (!sub.isOk()) return sub.status();
  assert((*sub)->size() == g->groupSize && (*sub)->rank() == g->key);
  return sub;
}

}  // namespace tessera::comm
