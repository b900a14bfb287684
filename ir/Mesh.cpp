// Mesh construction, sub-mesh slicing and consistency checks.
#include "ir/Mesh.h"

#include <numeric>
#include <set>

namespace tessera::ir {

int64_t Mesh::numDevices() const {
  int64_t n = 1;
  for (const MeshAxis& a : axes) n *= a.size;
  return n;
}

std::optional<int64_t> Mesh::axisSize(const std::string& axis) const {
  for (const MeshAxis& a : axes)
    if (a.name == axis) return a.size;
  return std::nullopt;
}

int Mesh::axisIndex(const std::string& axis) const {
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i].name == axis) return static_cast<int>(i);
  return -1;
}

bool Mesh::hasDefaultDeviceOrder() const {
  for (size_t i = 0; i < devices.size(); ++i)
    if (devices[i] != static_cast<int64_t>(i)) return false;
  return true;
}

Mesh Mesh::make(std::string name, std::vector<MeshAxis> axes) {
  Mesh m;
  m.name = std::move(name);
  m.axes = std::move(axes);
  m.devices.resize(static_cast<size_t>(std::max<int64_t>(m.numDevices(), 0)));
  std::iota(m.devices.begin(), m.devices.end(), 0);
  return m;
}

StatusOr<Mesh> Mesh::subMesh(std::string name, const Mesh& parent,
                             std::vector<std::pair<std::string, int64_t>> fixed) {
  std::vector<int64_t> pinned(parent.axes.size(), -1);
  for (const auto& [axis, index] : fixed) {
    int i = parent.axisIndex(axis);
    if (i < 0) return Status::error("mesh @" + parent.name + " has no axis '" + axis + "'");
    if (pinned[i] >= 0) return Status::error("axis '" + axis + "' is fixed twice");
    if (index < 0 || index >= parent.axes[i].size)
      return Status::error("index " + std::to_string(index) + " is out of range for axis '" +
                           axis + "' of size " + std::to_string(parent.axes[i].size));
    pinned[i] = index;
  }
  Mesh m;
  m.name = std::move(name);
  m.parent = parent.name;
  m.fixed = std::move(fixed);
  for (size_t i = 0; i < parent.axes.size(); ++i)
    if (pinned[i] < 0) m.axes.push_back(parent.axes[i]);
  // Walk every coordinate of the parent row-major and keep those on the slice.
  std::vector<int64_t> coord(parent.axes.size(), 0);
  for (int64_t flat = 0; flat < parent.numDevices(); ++flat) {
    bool on = true;
    for (size_t i = 0; i < coord.size(); ++i)
      if (pinned[i] >= 0 && coord[i] != pinned[i]) on = false;
    if (on) m.devices.push_back(parent.devices[flat]);
    for (int i = static_cast<int>(coord.size()) - 1; i >= 0; --i) {
      if (++coord[i] < parent.axes[i].size) break;
      coord[i] = 0;
    }
  }
  return m;
}

Status Mesh::check() const {
  std::set<std::string> names;
  for (const MeshAxis& a : axes) {
    if (!names.insert(a.name).second)
      return Status::error(loc, "mesh @" + name + " has axis '" + a.name + "' twice");
    if (a.size <= 0)
      return Status::error(loc, "mesh @" + name + " axis '" + a.name + "' has size " +
                                    std::to_string(a.size) + "; sizes must be positive");
  }
  if (static_cast<int64_t>(devices.size()) != numDevices())
    return Status::error(loc, "mesh @" + name + " lists " + std::to_string(devices.size()) +
                                  " devices but its axes make " + std::to_string(numDevices()));
  std::set<int64_t> seen;
  for (int64_t d : devices) {
    if (d < 0) return Status::error(loc, "mesh @" + name + " has negative device id");
    if (!seen.insert(d).second)
      return Status::error(loc, "mesh @" + name + " lists device " + std::to_string(d) + " twice");
  }
  return Status::ok();
}

}  // namespace tessera::ir
