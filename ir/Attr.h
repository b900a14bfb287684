// Typed op attributes.
//
// Each op kind declares its attributes (name, kind, required or not) in OpKinds.def; an Op stores
// one optional value per declared attribute, so an attribute of the wrong kind or an unknown name
// cannot exist in a well-formed module. Enumerated attributes (comparison direction, GELU form,
// ...) hold an index into a fixed EnumDef, read back as a C++ enum.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ir/DType.h"
#include "ir/Dim.h"
#include "ir/Tensor.h"

namespace tessera::ir {

enum class AttrKind { Int, Float, Bool, IntList, DimList, AxisList, Enum, DType, Tensor, MeshRef };
const char* attrKindName(AttrKind k);

// A closed set of names; C++ enums below list their values in the same order.
struct EnumDef {
  const char* name;
  std::vector<const char*> values;
  int indexOf(std::string_view v) const;  // -1 if absent
};

enum class GeluApprox { None, Tanh };
enum class CompareDir { Eq, Ne, Lt, Le, Gt, Ge };
enum class RandomDist { Uniform, Normal };
enum class ReduceOp { Sum, Max, Min };
enum class LossReduction { Mean, Sum, None };

extern const EnumDef kGeluApproxEnum;     // none, tanh
extern const EnumDef kCompareDirEnum;     // eq, ne, lt, le, gt, ge
extern const EnumDef kRandomDistEnum;     // uniform, normal
extern const EnumDef kReduceOpEnum;       // sum, max, min
extern const EnumDef kLossReductionEnum;  // mean, sum, none

struct EnumAttr {
  const EnumDef* def = nullptr;
  int index = 0;
  const char* str() const { return def->values[index]; }
  bool operator==(const EnumAttr&) const = default;
};

struct AxisList {
  std::vector<std::string> axes;
  bool operator==(const AxisList&) const = default;
};

struct MeshRef {
  std::string name;
  bool operator==(const MeshRef&) const = default;
};

struct TensorAttr {
  std::shared_ptr<const Tensor> value;
  bool operator==(const TensorAttr& o) const { return *value == *o.value; }
};

// The variant alternatives are in AttrKind order.
using AttrValue = std::variant<int64_t, double, bool, std::vector<int64_t>, std::vector<Dim>,
                               AxisList, EnumAttr, DType, TensorAttr, MeshRef>;

inline AttrKind attrKindOf(const AttrValue& v) { return static_cast<AttrKind>(v.index()); }

struct AttrSpec {
  const char* name;
  AttrKind kind;
  const EnumDef* enumDef;  // for AttrKind::Enum
  bool required;
};

}  // namespace tessera::ir
