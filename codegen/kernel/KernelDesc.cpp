// KernelDesc's checks and canonical text: validate() enforces the typing and level rules documented
// in KernelDesc.h (so the evaluator and the lowering may assume them), canonicalText() is the
// identity of a kernel for deduplication and the disk cache.
#include "codegen/kernel/KernelDesc.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace tessera::codegen {

const char* scalarTypeName(ScalarType t) {
  switch (t) {
    case ScalarType::F32: return "f32";
    case ScalarType::F64: return "f64";
    case ScalarType::I32: return "i32";
    case ScalarType::I64: return "i64";
    case ScalarType::Bool: return "bool";
  }
  return "?";
}

int scalarTypeBytes(ScalarType t) {
  switch (t) {
    case ScalarType::F32: return 4;
    case ScalarType::F64: return 8;
    case ScalarType::I32: return 4;
    case ScalarType::I64: return 8;
    case ScalarType::Bool: return 1;
  }
  return 0;
}

const char* instrKindName(InstrKind k) {
  static const char* names[] = {"load", "const", "coord", "unary", "binary",
                                "compare", "select", "cast", "reduce", "store"};
  return names[static_cast<int>(k)];
}
const char* unaryFnName(UnaryFn f) {
  static const char* names[] = {"neg",  "abs",     "exp",  "log",      "sqrt",      "rsqrt",
                                "tanh", "sigmoid", "relu", "gelu_erf", "gelu_tanh", "silu",
                                "erf",  "sin",     "cos",  "not"};
  return names[static_cast<int>(f)];
}
const char* binaryFnName(BinaryFn f) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "max", "min", "and", "or"};
  return names[static_cast<int>(f)];
}
const char* compareFnName(CompareFn f) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  return names[static_cast<int>(f)];
}
const char* reduceFnName(ReduceFn f) {
  static const char* names[] = {"sum", "max", "min"};
  return names[static_cast<int>(f)];
}

namespace {

const char* accessName(InnerAccess a) {
  switch (a) {
    case InnerAccess::Contiguous: return "contiguous";
    case InnerAccess::Broadcast: return "broadcast";
    case InnerAccess::Strided: return "strided";
  }
  return "?";
}

int expectedArgs(InstrKind k) {
  switch (k) {
    case InstrKind::Load:
    case InstrKind::Const:
    case InstrKind::Coord: return 0;
    case InstrKind::Unary:
    case InstrKind::Cast:
    case InstrKind::Reduce:
    case InstrKind::Store: return 1;
    case InstrKind::Binary:
    case InstrKind::Compare: return 2;
    case InstrKind::Select: return 3;
  }
  return 0;
}

bool isNumeric(ScalarType t) { return t != ScalarType::Bool; }

bool unaryAllowed(UnaryFn f, ScalarType t) {
  switch (f) {
    case UnaryFn::Neg:
    case UnaryFn::Abs:
    case UnaryFn::Relu: return isNumeric(t);
    case UnaryFn::Not: return t == ScalarType::Bool;
    default: return isFloatType(t);
  }
}

bool binaryAllowed(BinaryFn f, ScalarType t) {
  switch (f) {
    case BinaryFn::Pow: return isFloatType(t);
    case BinaryFn::And:
    case BinaryFn::Or: return t == ScalarType::Bool;
    default: return isNumeric(t);
  }
}

// The constant as it will be materialized in its type (so the text is exact).
std::string constantText(ScalarType t, double c) {
  char buf[64];
  switch (t) {
    case ScalarType::F32: {
      float f = static_cast<float>(c);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      std::snprintf(buf, sizeof buf, "0x%08x", bits);
      break;
    }
    case ScalarType::F64: {
      uint64_t bits;
      std::memcpy(&bits, &c, 8);
      std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(bits));
      break;
    }
    default: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(c)); break;
  }
  return buf;
}

}  // namespace

std::string KernelDesc::canonicalText() const {
  std::string s = "kernel-v1 outer=" + std::to_string(outerRank) + "\n";
  for (const BufferDesc& b : inputs)
    s += std::string("in ") + scalarTypeName(b.type) + " " + accessName(b.inner) + "\n";
  for (const BufferDesc& b : outputs)
    s += std::string("out ") + scalarTypeName(b.type) + " " + accessName(b.inner) + "\n";
  for (size_t i = 0; i < body.size(); ++i) {
    const Instr& in = body[i];
    s += "%" + std::to_string(i) + " = " + instrKindName(in.kind) + " " + scalarTypeName(in.type);
    switch (in.kind) {
      case InstrKind::Load:
      case InstrKind::Store: s += " b" + std::to_string(in.buffer); break;
      case InstrKind::Const: s += " " + constantText(in.type, in.constant); break;
      case InstrKind::Coord: s += " d" + std::to_string(in.dim); break;
      case InstrKind::Unary: s += std::string(" ") + unaryFnName(in.unary); break;
      case InstrKind::Binary: s += std::string(" ") + binaryFnName(in.binary); break;
      case InstrKind::Compare: s += std::string(" ") + compareFnName(in.compare); break;
      case InstrKind::Reduce: s += std::string(" ") + reduceFnName(in.reduce); break;
      default: break;
    }
    for (int a : in.args) s += " %" + std::to_string(a);
    s += "\n";
  }
  return s;
}

std::string KernelDesc::validate() {
  std::string kname = "kernel '" + name + "'";
  if (outerRank < 0 || outerRank > 8)
    return kname + ": outer rank " + std::to_string(outerRank) + " is outside [0, 8]";
  if (outputs.empty()) return kname + ": has no outputs";
  int numIn = static_cast<int>(inputs.size());
  int numBuf = numIn + static_cast<int>(outputs.size());
  std::vector<int> storeCount(outputs.size(), 0);
  for (size_t i = 0; i < body.size(); ++i) {
    Instr& in = body[i];
    if (static_cast<int>(in.kind) < 0 || static_cast<int>(in.kind) > static_cast<int>(InstrKind::Store))
      return kname + ": instruction %" + std::to_string(i) + " has an unknown kind";
    std::string where =
        kname + ": instruction %" + std::to_string(i) + " (" + instrKindName(in.kind) + ")";
    if (static_cast<int>(in.args.size()) != expectedArgs(in.kind))
      return where + ": takes " + std::to_string(expectedArgs(in.kind)) + " operand(s), has " +
             std::to_string(in.args.size());
    for (int a : in.args) {
      if (a < 0 || a >= static_cast<int>(i))
        return where + ": operand %" + std::to_string(a) + " is not an earlier instruction";
      if (body[a].kind == InstrKind::Store)
        return where + ": operand %" + std::to_string(a) + " is a store, which has no value";
    }
    auto argT = [&](int k) { return body[in.args[k]].type; };
    auto argRow = [&](int k) { return body[in.args[k]].rowLevel; };
    auto typeErr = [&](const std::string& what) { return where + ": " + what; };
    bool anyElem = false;
    for (int a : in.args) anyElem |= !body[a].rowLevel;
    in.rowLevel = !anyElem;
    switch (in.kind) {
      case InstrKind::Load: {
        if (in.buffer < 0 || in.buffer >= numIn)
          return where + ": buffer " + std::to_string(in.buffer) + " is not an input";
        const BufferDesc& b = inputs[in.buffer];
        if (b.type != in.type)
          return typeErr(std::string("type ") + scalarTypeName(in.type) + " differs from input '" +
                         b.name + "' of type " + scalarTypeName(b.type));
        in.rowLevel = b.inner == InnerAccess::Broadcast;
        break;
      }
      case InstrKind::Const: {
        if (!isFloatType(in.type)) {
          double c = in.constant;
          double lo = in.type == ScalarType::Bool  ? 0
                      : in.type == ScalarType::I32 ? -2147483648.0
                                                   : -9223372036854775808.0;
          double hi = in.type == ScalarType::Bool  ? 1
                      : in.type == ScalarType::I32 ? 2147483647.0
                                                   : 9223372036854775807.0;
          if (!(c == std::trunc(c)) || c < lo || c > hi)
            return typeErr("constant " + std::to_string(c) + " is not a " +
                           scalarTypeName(in.type) + " value");
        }
        in.rowLevel = true;
        break;
      }
      case InstrKind::Coord:
        if (in.dim < 0 || in.dim > outerRank)
          return where + ": dim " + std::to_string(in.dim) + " is outside [0, " +
                 std::to_string(outerRank) + "]";
        if (in.type != ScalarType::I64) return typeErr("a coordinate has type i64");
        in.rowLevel = in.dim < outerRank;
        break;
      case InstrKind::Unary:
        if (argT(0) != in.type) return typeErr("operand and result types differ");
        if (!unaryAllowed(in.unary, in.type))
          return typeErr(std::string(unaryFnName(in.unary)) + " is not defined on " +
                         scalarTypeName(in.type));
        break;
      case InstrKind::Binary:
        if (argT(0) != in.type || argT(1) != in.type)
          return typeErr("operand and result types differ");
        if (!binaryAllowed(in.binary, in.type))
          return typeErr(std::string(binaryFnName(in.binary)) + " is not defined on " +
                         scalarTypeName(in.type));
        break;
      case InstrKind::Compare:
        if (argT(0) != argT(1)) return typeErr("operand types differ");
        if (in.type != ScalarType::Bool) return typeErr("a comparison has type bool");
        break;
      case InstrKind::Select:
        if (argT(0) != ScalarType::Bool) return typeErr("the condition is not bool");
        if (argT(1) != in.type || argT(2) != in.type)
          return typeErr("the chosen values and the result types differ");
        break;
      case InstrKind::Cast: break;
      case InstrKind::Reduce:
        if (argT(0) != in.type) return typeErr("operand and result types differ");
        if (!isNumeric(in.type)) return typeErr("cannot reduce bool values");
        if (argRow(0)) return where + ": operand %" + std::to_string(in.args[0]) +
                              " is row-level; a reduction needs an element-level value";
        in.rowLevel = true;
        break;
      case InstrKind::Store: {
        if (in.buffer < numIn || in.buffer >= numBuf)
          return where + ": buffer " + std::to_string(in.buffer) + " is not an output";
        const BufferDesc& b = outputs[in.buffer - numIn];
        if (b.type != in.type || argT(0) != in.type)
          return typeErr(std::string("stored type ") + scalarTypeName(argT(0)) +
                         " / instruction type " + scalarTypeName(in.type) + " differ from output '" +
                         b.name + "' of type " + scalarTypeName(b.type));
        in.rowLevel = b.inner == InnerAccess::Broadcast;
        if (in.rowLevel && !argRow(0))
          return where + ": output '" + b.name +
                 "' is per row (broadcast access) but the stored value is element-level";
        if (++storeCount[in.buffer - numIn] > 1)
          return where + ": output '" + b.name + "' is stored twice";
        break;
      }
    }
  }
  for (size_t o = 0; o < outputs.size(); ++o)
    if (storeCount[o] == 0) return kname + ": output '" + outputs[o].name + "' is never stored";
  return "";
}

}  // namespace tessera::codegen
