// The printer of the IR text form (grammar in docs/ir-text-format.md).
//
// Output is canonical so that print(parse(print(m))) == print(m): meshes, symbols, parameters
// and functions in module order; attributes in op-table order; dims, types and shardings by
// their own str(); floats as the shortest text that reads back exactly. Locations are not
// printed.
#include "ir/Printer.h"

#include <map>
#include <set>

#include "ir/text/Lexer.h"
#include "ir/text/TensorLiteral.h"

namespace tessera::ir {

namespace {

bool isValidValueName(const std::string& n) {
  if (n.empty()) return false;
  for (char c : n)
    if (!text::isNameChar(c)) return false;
  return true;
}

// Text names of a function's values: Value::name() when it is valid and unique in the function,
// otherwise the smallest number not otherwise taken.
class ValueNamer {
 public:
  explicit ValueNamer(const Function& f) {
    std::map<std::string, int> count;
    std::vector<const Value*> all;
    for (int i = 0; i < f.numArguments(); ++i) all.push_back(f.argument(i));
    for (const auto& op : f.ops())
      for (int i = 0; i < op->numResults(); ++i) all.push_back(op->result(i));
    for (const Value* v : all) ++count[v->name()];
    std::set<std::string> taken;
    for (const Value* v : all)
      if (isValidValueName(v->name()) && count[v->name()] == 1) {
        names_[v] = v->name();
        taken.insert(v->name());
      }
    int next = 0;
    for (const Value* v : all) {
      if (names_.count(v)) continue;
      while (taken.count(std::to_string(next))) ++next;
      names_[v] = std::to_string(next++);
    }
  }

  std::string operator()(const Value* v) const {
    auto it = names_.find(v);
    return it == names_.end() ? "%<unknown>" : "%" + it->second;
  }

 private:
  std::map<const Value*, std::string> names_;
};

std::string joinInts(const std::vector<int64_t>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? "," : "") + std::to_string(xs[i]);
  return out + "]";
}

std::string printAttr(const AttrValue& v) {
  switch (attrKindOf(v)) {
    case AttrKind::Int: return std::to_string(std::get<int64_t>(v));
    case AttrKind::Float: return text::printScalar(std::get<double>(v), DType::F64);
    case AttrKind::Bool: return std::get<bool>(v) ? "true" : "false";
    case AttrKind::IntList: return joinInts(std::get<std::vector<int64_t>>(v));
    case AttrKind::DimList: return shapeStr(std::get<std::vector<Dim>>(v));
    case AttrKind::AxisList: {
      const auto& axes = std::get<AxisList>(v).axes;
      std::string out = "[";
      for (size_t i = 0; i < axes.size(); ++i) out += (i ? "," : "") + axes[i];
      return out + "]";
    }
    case AttrKind::Enum: return std::get<EnumAttr>(v).str();
    case AttrKind::DType: return dtypeName(std::get<DType>(v));
    case AttrKind::Tensor: {
      const auto& t = std::get<TensorAttr>(v).value;
      return t ? text::printDense(*t) : "dense<?>";
    }
    case AttrKind::MeshRef: return "@" + std::get<MeshRef>(v).name;
  }
  return "?";
}

std::string typeAndSharding(const Value* v) {
  std::string out = v->type().str();
  if (v->sharding()) out += " " + v->sharding()->str();
  return out;
}

std::string printOpWith(const Op& op, const ValueNamer& name) {
  std::string out;
  for (int i = 0; i < op.numResults(); ++i) out += (i ? ", " : "") + name(op.result(i));
  if (op.numResults() > 0) out += " = ";
  out += op.mnemonic();
  for (int i = 0; i < op.numOperands(); ++i)
    out += (i ? ", " : " ") + (op.operand(i) ? name(op.operand(i)) : "%<null>");
  const OpInfo& info = op.info();
  for (size_t i = 0; i < info.attrs.size(); ++i)
    if (const auto& slot = op.attrSlot(static_cast<int>(i)))
      out += " " + std::string(info.attrs[i].name) + "=" + printAttr(*slot);
  if (op.numResults() > 0) {
    out += " : ";
    for (int i = 0; i < op.numResults(); ++i)
      out += (i ? ", " : "") + typeAndSharding(op.result(i));
  }
  return out;
}

void printMesh(const Mesh& m, std::string& out) {
  out += "  mesh @" + m.name + " = ";
  if (m.isSubMesh()) {
    out += "@" + m.parent + "[";
    for (size_t i = 0; i < m.fixed.size(); ++i)
      out += (i ? ", " : "") + m.fixed[i].first + "=" + std::to_string(m.fixed[i].second);
    out += "]\n";
    return;
  }
  out += "<";
  for (size_t i = 0; i < m.axes.size(); ++i)
    out += (i ? ", " : "") + m.axes[i].name + "=" + std::to_string(m.axes[i].size);
  out += ">";
  if (!m.hasDefaultDeviceOrder()) out += " devices=" + joinInts(m.devices);
  out += "\n";
}

void printParam(const Parameter& p, std::string& out) {
  out += "  param @" + p.name + " : " + p.type.str();
  if (p.sharding) out += " " + p.sharding->str();
  if (!p.trainable) out += " frozen";
  if (p.init) out += " = " + text::printDense(*p.init);
  out += "\n";
}

void printFunction(const Function& f, std::string& out) {
  ValueNamer name(f);
  out += "  func @" + f.name() + "(";
  for (int i = 0; i < f.numArguments(); ++i)
    out += (i ? ", " : "") + name(f.argument(i)) + ": " + typeAndSharding(f.argument(i));
  out += ") -> (";
  for (size_t i = 0; i < f.results().size(); ++i) {
    const Value* v = f.results()[i];
    out += (i ? ", " : "") + (v ? v->type().str() : std::string("?"));
  }
  out += ") {\n";
  for (const auto& op : f.ops()) out += "    " + printOpWith(*op, name) + "\n";
  out += "    return";
  for (size_t i = 0; i < f.results().size(); ++i) {
    const Value* v = f.results()[i];
    out += (i ? ", " : " ") + (v ? name(v) : std::string("%<null>"));
  }
  out += "\n  }\n";
}

}  // namespace

std::string printOp(const Op& op) {
  // Every op is created by a Function, so it always has one.
  return printOpWith(op, ValueNamer(*op.function()));
}

std::vector<std::string> printOps(const Function& f) {
  const ValueNamer name(f);
  std::vector<std::string> out;
  out.reserve(f.ops().size());
  for (const auto& op : f.ops()) out.push_back(printOpWith(*op, name));
  return out;
}

std::string printModule(const Module& m) {
  std::string out = "module";
  if (!m.name.empty()) out += " @" + m.name;
  out += " {\n";
  for (const Mesh& mesh : m.meshes) printMesh(mesh, out);
  for (const SymbolDecl& s : m.symbols) {
    out += "  sym " + s.name;
    if (s.divisibleBy != 1) out += " divisible_by " + std::to_string(s.divisibleBy);
    out += "\n";
  }
  for (const Parameter& p : m.params) printParam(p, out);
  bool needBlank = !m.meshes.empty() || !m.symbols.empty() || !m.params.empty();
  for (const auto& f : m.functions()) {
    if (needBlank) out += "\n";
    needBlank = true;
    printFunction(*f, out);
  }
  return out + "}\n";
}

}  // namespace tessera::ir
