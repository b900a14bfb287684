// Reads a tessera.proto.Module back into a Module (the writer is ProtoSerializer.cpp).
//
// The bytes are untrusted: a file may be truncated, corrupted or crafted. Every reference and
// every size is checked before it is used, and each error names the file and the field path of
// the offending field (`m.tpb: functions[0].ops[3].operands[1]: no value with id 99`). Sizes are
// checked with overflow-safe arithmetic before anything is allocated, so a shape such as
// [2^62, 2^62] is an error rather than an allocation. Ops are built with Function::addOp, so
// the shape rules vet every op exactly as they do for the text parser. Checks that need the
// whole module (undeclared symbols, shardings against meshes, sub-mesh slices) are left to the
// verifier, which callers run next; meshes are vetted here because shape rules of collectives
// read axis sizes.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <unordered_map>

#include "ir/ProtoSerializer.h"
#include "ir/proto/ProtoCodec.h"

namespace tessera::ir {
namespace {

namespace codec = protocodec;

std::string at(const std::string& path, const char* field, int i) {
  return path + "." + field + "[" + std::to_string(i) + "]";
}

// An error produced by IR code is located at a Location taken from the file; inside a field-path
// error that location reads better as a trailing note than as a second `file:line:col: error:`.
std::string relocate(const Status& st, const Location& loc) {
  std::string msg = st.message();
  std::string prefix = loc.str() + ": error: ";
  if (msg.rfind(prefix, 0) == 0) {
    msg = msg.substr(prefix.size());
    if (loc.known()) msg += " (at " + loc.str() + ")";
  } else if (msg.rfind("error: ", 0) == 0) {
    msg = msg.substr(7);
  }
  return msg;
}

class Reader {
 public:
  Reader(const std::string& filename, Module& m) : file_(filename), m_(m) {}

  Status fail(const std::string& path, const std::string& what) const {
    return Status::error(file_ + ": " + path + ": " + what);
  }

  Status readModule(const proto::Module& pm);

 private:
  Location readLoc(const proto::Location& l) const { return {l.file(), l.line(), l.col()}; }
  StatusOr<DType> readDType(int v, const std::string& path) const;
  StatusOr<Dim> readDim(const proto::Dim& pd, const std::string& path, bool isShape) const;
  StatusOr<TensorType> readType(const proto::TensorType& pt, const std::string& path) const;
  StatusOr<Sharding> readSharding(const proto::Sharding& ps, const std::string& path) const;
  StatusOr<std::shared_ptr<const Tensor>> readTensor(const proto::TensorData& pt,
                                                     const std::string& path) const;
  Status readMesh(const proto::Mesh& pm, const std::string& path);
  StatusOr<AttrValue> readAttr(const proto::Attr& pa, const AttrSpec& spec,
                               const std::string& path) const;
  Status readValueExtras(const proto::ValueDef& pv, Value* v, const std::string& path) const;
  Status readFunction(const proto::Function& pf, const std::string& path);

  const std::string& file_;
  Module& m_;
};

StatusOr<DType> Reader::readDType(int v, const std::string& path) const {
  if (auto t = codec::fromProto(v)) return *t;
  return fail(path, "unknown dtype " + std::to_string(v));
}

StatusOr<Dim> Reader::readDim(const proto::Dim& pd, const std::string& path, bool isShape) const {
  Dim d;
  std::set<Dim::Monomial> seen;
  for (int i = 0; i < pd.terms_size(); ++i) {
    const proto::Term& t = pd.terms(i);
    std::string tp = at(path, "terms", i);
    if (t.den() <= 0) return fail(tp + ".den", "denominator must be positive, got " +
                                                   std::to_string(t.den()));
    // INT64_MIN has no negation; Rational's reduction would overflow on it.
    if (t.num() == std::numeric_limits<int64_t>::min())
      return fail(tp + ".num", "coefficient out of range");
    Dim::Monomial mono(t.symbols().begin(), t.symbols().end());
    for (const std::string& s : mono)
      if (s.empty()) return fail(tp + ".symbols", "empty symbol name");
    std::sort(mono.begin(), mono.end());
    // Distinct monomials never combine, so building the sum cannot overflow.
    if (!seen.insert(mono).second) return fail(tp, "repeats the monomial of an earlier term");
    if (t.num() == 0) continue;
    Dim term(t.num());
    for (const std::string& s : mono) term = term * Dim::symbol(s);
    d = d + term.divide(t.den());
  }
  if (isShape) {
    if (auto c = d.constant(); c && *c < 0)
      return fail(path, "dimension " + std::to_string(*c) + " is negative");
  }
  return d;
}

StatusOr<TensorType> Reader::readType(const proto::TensorType& pt, const std::string& path) const {
  TensorType t;
  TRY_ASSIGN(t.dtype, readDType(pt.dtype(), path + ".dtype"));
  for (int i = 0; i < pt.shape_size(); ++i) {
    TRY_ASSIGN(Dim d, readDim(pt.shape(i), at(path, "shape", i), /*isShape=*/true));
    t.shape.push_back(std::move(d));
  }
  return t;
}

StatusOr<Sharding> Reader::readSharding(const proto::Sharding& ps, const std::string& path) const {
  Sharding s;
  s.mesh = ps.mesh();
  if (!s.mesh.empty() && !m_.findMesh(s.mesh))
    return fail(path + ".mesh", "no mesh named '" + s.mesh + "'");
  for (const proto::DimSharding& pd : ps.dims()) {
    DimSharding d;
    d.axes.assign(pd.axes().begin(), pd.axes().end());
    d.open = pd.open();
    if (pd.has_priority()) d.priority = pd.priority();
    s.dims.push_back(std::move(d));
  }
  for (int i = 0; i < ps.partial_size(); ++i) {
    const proto::PartialAxis& p = ps.partial(i);
    PartialKind kind;
    if (p.kind() == proto::PARTIAL_SUM) kind = PartialKind::Sum;
    else if (p.kind() == proto::PARTIAL_MAX) kind = PartialKind::Max;
    else return fail(at(path, "partial", i) + ".kind", "unknown partial kind " +
                                                          std::to_string(p.kind()));
    s.partial.emplace_back(p.axis(), kind);
  }
  return s;
}

StatusOr<std::shared_ptr<const Tensor>> Reader::readTensor(const proto::TensorData& pt,
                                                           const std::string& path) const {
  TRY_ASSIGN(DType dtype, readDType(pt.dtype(), path + ".dtype"));
  std::vector<int64_t> shape(pt.shape().begin(), pt.shape().end());
  // Tensor computes products of its dims (element count, strides) in int64, so even an empty
  // tensor must keep the product of its non-zero dims in range.
  bool empty = false;
  uint64_t nonZeroProduct = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    std::string dp = path + ".shape[" + std::to_string(i) + "]";
    if (shape[i] < 0) return fail(dp, "dimension " + std::to_string(shape[i]) + " is negative");
    if (shape[i] == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(nonZeroProduct, static_cast<uint64_t>(shape[i]),
                                      &nonZeroProduct) ||
               nonZeroProduct > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return fail(dp, "the shape has more elements than fit in 64 bits");
    }
  }
  const size_t bytes = static_cast<size_t>(dtypeBytes(dtype));
  const size_t have = pt.data().size();
  const uint64_t count = empty ? 0 : nonZeroProduct;
  if (pt.splat()) {
    // One element repeated over the shape. The shape alone sets the allocation here, so bound it
    // (a damaged file must not ask for terabytes): 2^31 elements is 16 GiB of doubles in memory,
    // more than any tensor a plan of this machine's runs holds.
    constexpr uint64_t kMaxSplat = uint64_t{1} << 31;
    if (have != bytes)
      return fail(path + ".data", "a splat holds one element of " + std::string(dtypeName(dtype)) +
                                      " (" + std::to_string(bytes) + " bytes), not " +
                                      std::to_string(have) + " bytes");
    if (count > kMaxSplat)
      return fail(path + ".shape", "a splat of " + std::to_string(count) +
                                       " elements is more than the 2^31 a tensor may hold");
    const double v = codec::decodeElement(codec::readLittleEndian(pt.data().data(), static_cast<int>(bytes)),
                                          dtype);
    return std::make_shared<const Tensor>(dtype, std::move(shape), std::vector<double>(count, v));
  }
  // Compare before multiplying: count * bytes may not fit, and count > have already disagrees.
  if (count > have)
    return fail(path + ".data", "holds " + std::to_string(have) + " bytes, far fewer than the " +
                                    std::to_string(count) + " elements of the shape need");
  if (count * bytes != have)
    return fail(path + ".data", "holds " + std::to_string(have) + " bytes but " +
                                    std::to_string(count) + " elements of " + dtypeName(dtype) +
                                    " need " + std::to_string(count * bytes));
  std::vector<double> values(count);
  const char* p = pt.data().data();
  for (uint64_t i = 0; i < count; ++i)
    values[i] = codec::decodeElement(codec::readLittleEndian(p + i * bytes, static_cast<int>(bytes)),
                                     dtype);
  return std::make_shared<const Tensor>(dtype, std::move(shape), std::move(values));
}

Status Reader::readMesh(const proto::Mesh& pm, const std::string& path) {
  Mesh mesh;
  mesh.name = pm.name();
  mesh.loc = readLoc(pm.loc());
  for (const proto::MeshAxis& a : pm.axes()) mesh.axes.push_back({a.name(), a.size()});
  mesh.devices.assign(pm.devices().begin(), pm.devices().end());
  mesh.parent = pm.parent();
  for (const proto::FixedAxis& f : pm.fixed()) mesh.fixed.emplace_back(f.axis(), f.index());
  // Mesh::check multiplies the axis sizes; make sure the product is small (bounded by the
  // number of devices actually listed) before it runs.
  uint64_t product = 1;
  for (size_t i = 0; i < mesh.axes.size(); ++i) {
    int64_t size = mesh.axes[i].size;
    if (size <= 0)
      return fail(at(path, "axes", static_cast<int>(i)) + ".size",
                  "axis size must be positive, got " + std::to_string(size));
    if (__builtin_mul_overflow(product, static_cast<uint64_t>(size), &product) ||
        product > mesh.devices.size())
      return fail(path + ".devices", "lists " + std::to_string(mesh.devices.size()) +
                                         " devices, fewer than the axes make");
  }
  if (Status st = mesh.check(); !st) return fail(path, relocate(st, mesh.loc));
  if (mesh.isSubMesh() && !m_.findMesh(mesh.parent))
    return fail(path + ".parent", "no mesh named '" + mesh.parent + "' declared before it");
  m_.meshes.push_back(std::move(mesh));
  return Status::ok();
}

// The attribute's kind is which oneof field is set; it must match what the op table declares.
StatusOr<AttrValue> Reader::readAttr(const proto::Attr& pa, const AttrSpec& spec,
                                     const std::string& path) const {
  std::optional<AttrKind> kind;
  switch (pa.value_case()) {
    case proto::Attr::kIntValue: kind = AttrKind::Int; break;
    case proto::Attr::kFloatValue: kind = AttrKind::Float; break;
    case proto::Attr::kBoolValue: kind = AttrKind::Bool; break;
    case proto::Attr::kIntList: kind = AttrKind::IntList; break;
    case proto::Attr::kDimList: kind = AttrKind::DimList; break;
    case proto::Attr::kAxisList: kind = AttrKind::AxisList; break;
    case proto::Attr::kEnumValue: kind = AttrKind::Enum; break;
    case proto::Attr::kDtype: kind = AttrKind::DType; break;
    case proto::Attr::kTensor: kind = AttrKind::Tensor; break;
    case proto::Attr::kMeshRef: kind = AttrKind::MeshRef; break;
    case proto::Attr::VALUE_NOT_SET: break;
  }
  if (!kind) return fail(path, "attribute '" + pa.name() + "' has no value");
  if (*kind != spec.kind)
    return fail(path, "attribute '" + pa.name() + "' must be of kind " +
                          attrKindName(spec.kind) + ", got " + attrKindName(*kind));
  switch (*kind) {
    case AttrKind::Int: return AttrValue(pa.int_value());
    case AttrKind::Float: return AttrValue(pa.float_value());
    case AttrKind::Bool: return AttrValue(pa.bool_value());
    case AttrKind::IntList:
      return AttrValue(std::vector<int64_t>(pa.int_list().values().begin(),
                                            pa.int_list().values().end()));
    case AttrKind::DimList: {
      std::vector<Dim> dims;
      for (int i = 0; i < pa.dim_list().values_size(); ++i) {
        TRY_ASSIGN(Dim d, readDim(pa.dim_list().values(i), at(path + ".dim_list", "values", i),
                                  /*isShape=*/false));
        dims.push_back(std::move(d));
      }
      return AttrValue(std::move(dims));
    }
    case AttrKind::AxisList:
      return AttrValue(AxisList{{pa.axis_list().axes().begin(), pa.axis_list().axes().end()}});
    case AttrKind::Enum: {
      int index = spec.enumDef->indexOf(pa.enum_value());
      if (index < 0)
        return fail(path + ".enum_value", "'" + pa.enum_value() + "' is not a " +
                                              spec.enumDef->name + " value");
      return AttrValue(EnumAttr{spec.enumDef, index});
    }
    case AttrKind::DType: {
      TRY_ASSIGN(DType t, readDType(pa.dtype(), path + ".dtype"));
      return AttrValue(t);
    }
    case AttrKind::Tensor: {
      TRY_ASSIGN(auto t, readTensor(pa.tensor(), path + ".tensor"));
      return AttrValue(TensorAttr{std::move(t)});
    }
    case AttrKind::MeshRef:
      if (!m_.findMesh(pa.mesh_ref()))
        return fail(path + ".mesh_ref", "no mesh named '" + pa.mesh_ref() + "'");
      return AttrValue(MeshRef{pa.mesh_ref()});
  }
  return fail(path, "unreachable attribute kind");
}

Status Reader::readValueExtras(const proto::ValueDef& pv, Value* v,
                               const std::string& path) const {
  v->setName(pv.name());
  if (pv.has_sharding()) {
    TRY_ASSIGN(Sharding s, readSharding(pv.sharding(), path + ".sharding"));
    v->setSharding(std::move(s));
  }
  return Status::ok();
}

Status Reader::readFunction(const proto::Function& pf, const std::string& path) {
  Function* f = m_.addFunction(pf.name());
  f->loc = readLoc(pf.loc());
  f->returnLoc = readLoc(pf.return_loc());

  // Every id defined anywhere in the function and where, so that a use before the definition
  // can be told apart from a reference to nothing, and duplicates are caught up front.
  std::unordered_map<int64_t, std::string> definedAt;
  auto define = [&](int64_t id, const std::string& p) -> Status {
    auto [it, fresh] = definedAt.emplace(id, p);
    if (!fresh)
      return fail(p + ".id", "duplicate value id " + std::to_string(id) + " (also " +
                                 it->second + ")");
    return Status::ok();
  };
  for (int i = 0; i < pf.arguments_size(); ++i)
    TRY(define(pf.arguments(i).id(), at(path, "arguments", i)));
  for (int i = 0; i < pf.ops_size(); ++i)
    for (int r = 0; r < pf.ops(i).results_size(); ++r)
      TRY(define(pf.ops(i).results(r).id(), at(at(path, "ops", i), "results", r)));

  std::unordered_map<int64_t, Value*> values;
  auto lookup = [&](int64_t id, const std::string& p) -> StatusOr<Value*> {
    if (auto it = values.find(id); it != values.end()) return it->second;
    if (auto it = definedAt.find(id); it != definedAt.end())
      return fail(p, "value " + std::to_string(id) + " is used before its definition at " +
                         it->second);
    return fail(p, "no value with id " + std::to_string(id));
  };

  for (int i = 0; i < pf.arguments_size(); ++i) {
    const proto::ValueDef& pv = pf.arguments(i);
    std::string ap = at(path, "arguments", i);
    TRY_ASSIGN(TensorType t, readType(pv.type(), ap + ".type"));
    Value* v = f->addArgument(std::move(t));
    TRY(readValueExtras(pv, v, ap));
    values[pv.id()] = v;
  }

  for (int i = 0; i < pf.ops_size(); ++i) {
    const proto::Op& po = pf.ops(i);
    std::string op = at(path, "ops", i);
    std::optional<OpKind> kind = opKindFromMnemonic(po.kind());
    if (!kind) return fail(op + ".kind", "unknown op '" + po.kind() + "'");
    const OpInfo& info = opInfo(*kind);
    OpSpec spec{*kind, {}, {}, {}, readLoc(po.loc())};
    int n = po.operands_size();
    if ((info.numOperands >= 0 && n != info.numOperands) || (info.numOperands < 0 && n == 0))
      return fail(op + ".operands", std::string(info.mnemonic) + " takes " +
                                        (info.numOperands < 0 ? std::string("at least 1")
                                                              : std::to_string(info.numOperands)) +
                                        " operands, got " + std::to_string(n));
    for (int k = 0; k < n; ++k) {
      TRY_ASSIGN(Value* v, lookup(po.operands(k), at(op, "operands", k)));
      spec.operands.push_back(v);
    }
    std::vector<bool> seenAttr(info.attrs.size(), false);
    for (int k = 0; k < po.attrs_size(); ++k) {
      const proto::Attr& pa = po.attrs(k);
      std::string ap = at(op, "attrs", k);
      int index = info.attrIndex(pa.name());
      if (index < 0)
        return fail(ap, std::string(info.mnemonic) + " has no attribute '" + pa.name() + "'");
      if (seenAttr[index]) return fail(ap, "attribute '" + pa.name() + "' is given twice");
      seenAttr[index] = true;
      TRY_ASSIGN(AttrValue v, readAttr(pa, info.attrs[index], ap));
      spec.attrs.emplace_back(pa.name(), std::move(v));
    }
    if (po.results_size() != info.numResults)
      return fail(op + ".results", std::string(info.mnemonic) + " has " +
                                       std::to_string(info.numResults) + " results, got " +
                                       std::to_string(po.results_size()));
    for (int r = 0; r < po.results_size(); ++r) {
      TRY_ASSIGN(TensorType t, readType(po.results(r).type(), at(op, "results", r) + ".type"));
      spec.declared.push_back(std::move(t));
    }
    Location loc = spec.loc;
    auto built = f->addOp(std::move(spec));
    if (!built) return fail(op, relocate(built.status(), loc));
    for (int r = 0; r < po.results_size(); ++r) {
      TRY(readValueExtras(po.results(r), (*built)->result(r), at(op, "results", r)));
      values[po.results(r).id()] = (*built)->result(r);
    }
  }

  std::vector<Value*> results;
  for (int i = 0; i < pf.results_size(); ++i) {
    TRY_ASSIGN(Value* v, lookup(pf.results(i), at(path, "results", i)));
    results.push_back(v);
  }
  f->setResults(std::move(results));
  return Status::ok();
}

Status Reader::readModule(const proto::Module& pm) {
  m_.name = pm.name();
  for (int i = 0; i < pm.meshes_size(); ++i)
    TRY(readMesh(pm.meshes(i), "meshes[" + std::to_string(i) + "]"));
  for (int i = 0; i < pm.symbols_size(); ++i) {
    const proto::Symbol& s = pm.symbols(i);
    m_.symbols.push_back({s.name(), s.divisible_by(), readLoc(s.loc())});
  }
  for (int i = 0; i < pm.params_size(); ++i) {
    const proto::Parameter& pp = pm.params(i);
    std::string path = "params[" + std::to_string(i) + "]";
    Parameter p;
    p.name = pp.name();
    TRY_ASSIGN(p.type, readType(pp.type(), path + ".type"));
    if (pp.has_sharding()) {
      TRY_ASSIGN(Sharding s, readSharding(pp.sharding(), path + ".sharding"));
      p.sharding = std::move(s);
    }
    p.trainable = pp.trainable();
    if (pp.has_init()) {
      TRY_ASSIGN(p.init, readTensor(pp.init(), path + ".init"));
    }
    p.loc = readLoc(pp.loc());
    m_.params.push_back(std::move(p));
  }
  for (int i = 0; i < pm.functions_size(); ++i)
    TRY(readFunction(pm.functions(i), "functions[" + std::to_string(i) + "]"));
  return Status::ok();
}

}  // namespace

StatusOr<std::unique_ptr<Module>> deserializeModule(std::string_view bytes,
                                                    const std::string& filename) {
  proto::Module pm;
  // Protobuf logs parse problems (e.g. invalid UTF-8 in a string) to stderr; the Status below
  // is the one report the caller should see.
  google::protobuf::LogSilencer quiet;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !pm.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::error(filename + ": not a valid Tessera protobuf module (parse failed)");
  auto m = std::make_unique<Module>();
  TRY(Reader(filename, *m).readModule(pm));
  return m;
}

}  // namespace tessera::ir
