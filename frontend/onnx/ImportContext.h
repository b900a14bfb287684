// The state of one ONNX import: the module and @main being built, what every ONNX value name
// stands for, and the op builder that folds constants as it goes.
//
// An ONNX value becomes an Entry: its Tessera type plus, when known at import time, its constant
// value and — for integer tensors of rank <= 1 — its elements as Dims, which may be symbolic
// (`Shape` of an input with a `dim_param` dim gives [B, S, 64]). Shape sub-graphs (Shape, Gather,
// Concat, Unsqueeze, arithmetic, ...) are evaluated on these Dims at import time, so Reshape,
// Expand and ConstantOfShape get static or symbolic target shapes instead of run-time tensors.
// Constants enter @main lazily, as a `constant` op at their first run-time use.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/Module.h"

namespace tessera::frontend::onnximport {

struct Entry {
  ir::TensorType type;
  ir::Value* value = nullptr;                  // in @main; null until a run-time use
  std::shared_ptr<const ir::Tensor> constant;  // known at import time
  std::optional<std::vector<ir::Dim>> dims;    // rank <= 1 integer tensor: its exact elements

  bool isConstant() const { return constant != nullptr; }
  // The constant elements of `dims` (all must be constant).
  std::optional<std::vector<int64_t>> constInts() const;
};

// Folded results larger than this stay run-time ops, so a folded mask never bloats the module.
inline constexpr int64_t kMaxFoldElements = int64_t{1} << 14;
// Integer tensors of rank <= 1 up to this length also carry their values as Dims.
inline constexpr int64_t kMaxDimsLength = 1024;

// A constant entry; `exactInts` (for integer tensors) keeps values beyond 2^53 exact in `dims`.
Entry constantEntry(ir::Tensor t, const std::vector<int64_t>* exactInts = nullptr);
// An integer entry of rank 1 (or 0 when `scalar`) holding `dims`; constant when they all are.
Entry dimsEntry(std::vector<ir::Dim> dims, bool scalar, ir::DType dtype = ir::DType::I64);

class ImportContext {
 public:
  ImportContext(ir::Module& m, ir::Function& f, std::string file)
      : module(m), func(f), file(std::move(file)) {}

  ir::Module& module;
  ir::Function& func;
  std::string file;     // the model path, for error locations
  std::string baseDir;  // the model's folder, for external data
  std::map<std::string, Entry> values;  // ONNX value name -> what it stands for

  // The value of `e` in @main: a constant becomes a `constant` op (once); an entry known only
  // as symbolic dims cannot exist at run time (Tessera has no op reading a symbol's value).
  StatusOr<ir::Value*> materialize(const Entry& e, const Location& loc);

  // Adds `kind` on `operands`. When every operand is a constant and the results are small, the
  // op is evaluated now by the reference semantics and the results are constants; otherwise it
  // is added to @main. Errors are the shape rule's, located at `loc`.
  StatusOr<std::vector<Entry>> emitN(ir::OpKind kind, const std::vector<Entry>& operands,
                                     std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                     std::vector<ir::TensorType> declared, const Location& loc);

  // The Tessera symbol for an ONNX `dim_param` (declared in the module on first use).
  std::string symbolFor(const std::string& dimParam);
  // A fresh symbol for a dim with neither dim_value nor dim_param.
  std::string freshSymbol(const std::string& hint);
  // A valid, unique value/parameter name derived from an ONNX name.
  std::string uniqueName(const std::string& onnxName);

 private:
  std::map<const ir::Tensor*, ir::Value*> materialized_;
  std::map<std::string, std::string> symbols_;  // dim_param -> symbol
  std::set<std::string> usedNames_;
  std::set<std::string> usedSymbols_;
};

// Replaces characters outside `allowed` by '_' (and a leading digit for identifiers).
std::string sanitizeName(const std::string& name, bool identifier);

}  // namespace tessera::frontend::onnximport
