// Building small modules through Function::addOp for the pass tests (no text parser involved,
// so these tests fail only for the pass under test or the op rules it depends on).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::passes::testing {

inline ir::TensorType f32(std::vector<int64_t> shape) {
  ir::TensorType t;
  t.dtype = ir::DType::F32;
  for (int64_t d : shape) t.shape.push_back(ir::Dim(d));
  return t;
}

// Adds an op; `line` becomes its location so tests can tell which of two equal ops survived.
inline ir::Value* add(ir::Function* f, ir::OpKind kind, std::vector<ir::Value*> operands,
                      std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                      std::vector<ir::TensorType> declared = {}, int line = 0,
                      std::string name = "") {
  ir::OpSpec spec{kind, std::move(operands), std::move(attrs), std::move(declared),
                  Location{"t.tir", line, 5}};
  auto op = f->addOp(std::move(spec));
  EXPECT_TRUE(op.isOk()) << op.status().message();
  if (!op.isOk() || (*op)->numResults() == 0) return nullptr;
  (*op)->result(0)->setName(std::move(name));
  return (*op)->result(0);
}

// The mnemonics of f's ops in program order, e.g. "neg exp".
inline std::string opList(const ir::Function& f) {
  std::string out;
  for (const auto& op : f.ops()) out += (out.empty() ? "" : " ") + std::string(op->mnemonic());
  return out;
}

}  // namespace tessera::passes::testing
