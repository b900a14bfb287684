// Pipeline strings, the registry, and notes added to errors.
#include <gtest/gtest.h>

#include "passes/PassRegistry.h"
#include "passes/Pipeline.h"
#include "PassTestUtil.h"

namespace tessera::passes {
namespace {

using namespace testing;

TEST(PassRegistry, EveryEntryCreatesThePassItNames) {
  ASSERT_GE(allPasses().size(), 3u);
  for (const char* name : {"verify", "dce", "cse", "autodiff", "train-step"}) {
    const PassInfo* info = findPass(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->create()->name(), name);
    EXPECT_NE(passHelp().find(std::string("  ") + name + "  "), std::string::npos) << passHelp();
  }
  EXPECT_EQ(findPass("DCE"), nullptr) << "names are case-sensitive";
  // The registry lists passes in PassRegistry.def order; the first three are the basic ones.
  EXPECT_EQ(knownPassNames().rfind("verify, dce, cse", 0), 0u) << knownPassNames();
}

TEST(Pipeline, ParsesNamesInOrderIgnoringSpaces) {
  auto p = Pipeline::parse(" verify, dce ,cse,dce");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->names(), (std::vector<std::string>{"verify", "dce", "cse", "dce"}));
  auto empty = Pipeline::parse("");
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->empty());
}

TEST(Pipeline, UnknownOrEmptyNamesListTheKnownPasses) {
  auto p = Pipeline::parse("verify,dse");
  ASSERT_FALSE(p.isOk());
  EXPECT_EQ(p.status().message(), "error: unknown pass 'dse' in pipeline 'verify,dse' (known passes: " +
                                      knownPassNames() + ")");
  auto q = Pipeline::parse("dce,,cse");
  ASSERT_FALSE(q.isOk());
  EXPECT_NE(q.status().message().find("empty pass name"), std::string::npos);
  EXPECT_NE(q.status().message().find("known passes: verify, dce, cse"), std::string::npos);
  EXPECT_FALSE(Pipeline::parse("dce,").isOk());
}

TEST(Pipeline, RunsPassesInOrderAndReportsChange) {
  ir::Module m("t");
  ir::Function* f = m.addFunction("main");
  ir::Value* x = f->addArgument(f32({4}), "x");
  ir::Value* a1 = add(f, ir::OpKind::Neg, {x});
  ir::Value* a2 = add(f, ir::OpKind::Neg, {x});
  ir::Value* s = add(f, ir::OpKind::Add, {a1, a2});
  f->setResults({s});
  // dce first finds nothing (everything is used); cse then merges the negs.
  auto p = Pipeline::parse("dce,cse");
  ASSERT_TRUE(p.isOk());
  auto changed = p->run(m);
  ASSERT_TRUE(changed.isOk()) << changed.status().message();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(opList(*f), "neg add");
  auto again = p->run(m);
  ASSERT_TRUE(again.isOk());
  EXPECT_FALSE(*again);
}

TEST(Pipeline, NotesKeepTheLocationFirst) {
  Status located = Status::error(Location{"dir:a/x.tir", 12, 3}, "bad thing");
  EXPECT_EQ(withNote(located, "note: while running pass 'cse'").message(),
            "dir:a/x.tir:12:3: error: bad thing\nnote: while running pass 'cse'");
  Status plain = Status::error("no place");
  EXPECT_EQ(withNote(plain, "note: n").message(), "error: no place\nnote: n");
  Status fileOnly = Status::error(Location{"w.npy", 0, 0}, "short");
  EXPECT_EQ(withNote(fileOnly, "note: n").message(), "w.npy: error: short\nnote: n");
}

}  // namespace
}  // namespace tessera::passes
