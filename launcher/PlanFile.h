// The plan file (`tessera plan -o plan.tpb`): a DistributedPlan as bytes, and back.
//
// Layout: 8 bytes of magic "TSRAPLAN", a little-endian uint32 format version, a little-endian
// uint64 FNV-1a checksum of the rest, then one tessera.launcher.proto.Plan message (plan.proto).
// The header is read before anything else, so a file from another format version is named as
// such rather than as corrupt; the checksum turns any truncation or damaged byte into a clear
// error instead of a plan that decodes to something else. Reading also checks that the plan is
// self-consistent (mesh, arity, shardings, parameters, fingerprint) — every rank does this before
// it issues its first collective.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "launcher/DistributedPlan.h"

namespace tessera::launcher {

inline constexpr uint32_t kPlanFormatVersion = 1;

StatusOr<std::string> encodePlan(const DistributedPlan& plan);
// `path` names the source in errors.
StatusOr<DistributedPlan> decodePlan(std::string_view bytes, const std::string& path);

Status writePlanFile(const std::string& path, const DistributedPlan& plan);
StatusOr<DistributedPlan> readPlanFile(const std::string& path);

}  // namespace tessera::launcher
