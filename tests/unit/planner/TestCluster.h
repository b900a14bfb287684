// A cluster from its shorthand (`2x8:a100-80g`) for the planner tests; a shorthand that does not
// parse fails the test that asked for it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "partition/cost/ClusterSpec.h"

namespace tessera::partition::planner {

inline cost::ClusterSpec cluster(const std::string& s) {
  auto c = cost::parseClusterShorthand(s);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return *c;
}

}  // namespace tessera::partition::planner
