#include <gtest/gtest.h>
#include <cstdio>
#include <cstdlib>
#include "ir/Printer.h"
#include "launcher/PlanFile.h"
namespace tessera {
TEST(ZzDebug, Dump) {
  const char* p = std::getenv("H1PLAN");
  if (!p) GTEST_SKIP();
  auto plan = launcher::readPlanFile(p);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  for (const auto& fn : plan->pipeline.functions) {
    const ir::Function* f = plan->local->findFunction(fn);
    std::printf("== %s\n", fn.c_str());
    for (const auto& op : f->ops())
      if (op->info().isCollective())
        std::printf("  %s %s %s\n", op->mnemonic(), op->numResults() ? op->result()->type().str().c_str() : op->operand(0)->type().str().c_str(),
                    op->attr("peer") ? std::to_string(op->attrAs<int64_t>("peer")).c_str() : "");
  }
}
}
