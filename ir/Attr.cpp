// Attribute kinds and the enumerations attributes draw from.
#include "ir/Attr.h"

namespace tessera::ir {

const char* attrKindName(AttrKind k) {
  switch (k) {
    case AttrKind::Int: return "integer";
    case AttrKind::Float: return "float";
    case AttrKind::Bool: return "bool";
    case AttrKind::IntList: return "integer list";
    case AttrKind::DimList: return "dimension list";
    case AttrKind::AxisList: return "mesh axis list";
    case AttrKind::Enum: return "enum";
    case AttrKind::DType: return "dtype";
    case AttrKind::Tensor: return "tensor";
    case AttrKind::MeshRef: return "mesh reference";
  }
  return "?";
}

int EnumDef::indexOf(std::string_view v) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (v == values[i]) return static_cast<int>(i);
  return -1;
}

const EnumDef kGeluApproxEnum{"gelu approximation", {"none", "tanh"}};
const EnumDef kCompareDirEnum{"comparison", {"eq", "ne", "lt", "le", "gt", "ge"}};
const EnumDef kRandomDistEnum{"distribution", {"uniform", "normal"}};
const EnumDef kReduceOpEnum{"reduction", {"sum", "max", "min"}};
const EnumDef kLossReductionEnum{"loss reduction", {"mean", "sum", "none"}};

}  // namespace tessera::ir
