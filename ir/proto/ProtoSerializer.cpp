// Writes a Module as a tessera.proto.Module (schema: tessera.proto). The reader is
// ProtoDeserializer.cpp.
//
// Output is deterministic — ids are assigned in definition order (arguments, then op results)
// and every field is written in a fixed order — so serialize(deserialize(serialize(m))) equals
// serialize(m) byte for byte, which the tests rely on to check the round trip.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "ir/ProtoSerializer.h"
#include "ir/proto/ProtoCodec.h"

namespace tessera::ir {
namespace {

namespace codec = protocodec;

void writeLoc(const Location& loc, proto::Location* out) {
  out->set_file(loc.file);
  out->set_line(loc.line);
  out->set_col(loc.col);
}

// An unknown location is left out entirely so that it reads back as unknown.
template <typename Msg>
void maybeWriteLoc(const Location& loc, Msg* msg, proto::Location* (Msg::*mut)()) {
  if (loc != Location{}) writeLoc(loc, (msg->*mut)());
}

void writeDim(const Dim& d, proto::Dim* out) {
  for (const auto& [monomial, coeff] : d.terms()) {
    proto::Term* t = out->add_terms();
    for (const std::string& s : monomial) t->add_symbols(s);
    t->set_num(coeff.num);
    t->set_den(coeff.den);
  }
}

void writeType(const TensorType& t, proto::TensorType* out) {
  out->set_dtype(codec::toProto(t.dtype));
  for (const Dim& d : t.shape) writeDim(d, out->add_shape());
}

void writeSharding(const Sharding& s, proto::Sharding* out) {
  out->set_mesh(s.mesh);
  for (const DimSharding& d : s.dims) {
    proto::DimSharding* pd = out->add_dims();
    for (const std::string& a : d.axes) pd->add_axes(a);
    pd->set_open(d.open);
    if (d.priority) pd->set_priority(*d.priority);
  }
  for (const auto& [axis, kind] : s.partial) {
    proto::PartialAxis* p = out->add_partial();
    p->set_axis(axis);
    p->set_kind(kind == PartialKind::Sum ? proto::PARTIAL_SUM : proto::PARTIAL_MAX);
  }
}

void writeTensor(const Tensor& t, proto::TensorData* out) {
  out->set_dtype(codec::toProto(t.dtype()));
  for (int64_t d : t.shape()) out->add_shape(d);
  int bytes = dtypeBytes(t.dtype());
  std::string data;
  // Splat when every element encodes to the same bits (compared encoded, so -0.0 and 0.0 or two
  // NaN payloads are never merged).
  const std::vector<double>& values = t.data();
  if (values.size() >= 2) {
    const uint64_t first = codec::encodeElement(values[0], t.dtype());
    bool same = true;
    for (size_t i = 1; i < values.size() && same; ++i)
      same = codec::encodeElement(values[i], t.dtype()) == first;
    if (same) {
      codec::appendLittleEndian(data, first, bytes);
      out->set_splat(true);
      out->set_data(std::move(data));
      return;
    }
  }
  data.reserve(values.size() * static_cast<size_t>(bytes));
  for (double v : values) codec::appendLittleEndian(data, codec::encodeElement(v, t.dtype()), bytes);
  out->set_data(std::move(data));
}

void writeMesh(const Mesh& m, proto::Mesh* out) {
  out->set_name(m.name);
  for (const MeshAxis& a : m.axes) {
    proto::MeshAxis* pa = out->add_axes();
    pa->set_name(a.name);
    pa->set_size(a.size);
  }
  for (int64_t d : m.devices) out->add_devices(d);
  out->set_parent(m.parent);
  for (const auto& [axis, index] : m.fixed) {
    proto::FixedAxis* f = out->add_fixed();
    f->set_axis(axis);
    f->set_index(index);
  }
  maybeWriteLoc(m.loc, out, &proto::Mesh::mutable_loc);
}

void writeAttr(const std::string& name, const AttrValue& v, proto::Attr* out) {
  out->set_name(name);
  switch (attrKindOf(v)) {
    case AttrKind::Int: out->set_int_value(std::get<int64_t>(v)); break;
    case AttrKind::Float: out->set_float_value(std::get<double>(v)); break;
    case AttrKind::Bool: out->set_bool_value(std::get<bool>(v)); break;
    case AttrKind::IntList:
      out->mutable_int_list();  // set even when empty: the oneof case is the attribute's kind
      for (int64_t x : std::get<std::vector<int64_t>>(v)) out->mutable_int_list()->add_values(x);
      break;
    case AttrKind::DimList:
      out->mutable_dim_list();
      for (const Dim& d : std::get<std::vector<Dim>>(v))
        writeDim(d, out->mutable_dim_list()->add_values());
      break;
    case AttrKind::AxisList:
      out->mutable_axis_list();
      for (const std::string& a : std::get<AxisList>(v).axes)
        out->mutable_axis_list()->add_axes(a);
      break;
    case AttrKind::Enum: out->set_enum_value(std::get<EnumAttr>(v).str()); break;
    case AttrKind::DType: out->set_dtype(codec::toProto(std::get<DType>(v))); break;
    case AttrKind::Tensor: writeTensor(*std::get<TensorAttr>(v).value, out->mutable_tensor()); break;
    case AttrKind::MeshRef: out->set_mesh_ref(std::get<MeshRef>(v).name); break;
  }
}

void writeValue(const Value& v, int64_t id, proto::ValueDef* out) {
  out->set_id(id);
  out->set_name(v.name());
  writeType(v.type(), out->mutable_type());
  if (v.sharding()) writeSharding(*v.sharding(), out->mutable_sharding());
}

// A function whose values are not in SSA order cannot be written (ids are resolved on the way),
// so such an error names the op; the verifier explains in more detail.
Status writeFunction(const Function& f, proto::Function* out) {
  out->set_name(f.name());
  maybeWriteLoc(f.loc, out, &proto::Function::mutable_loc);
  maybeWriteLoc(f.returnLoc, out, &proto::Function::mutable_return_loc);
  std::unordered_map<const Value*, int64_t> ids;
  int64_t next = 0;
  for (int i = 0; i < f.numArguments(); ++i) {
    ids[f.argument(i)] = next;
    writeValue(*f.argument(i), next++, out->add_arguments());
  }
  for (const auto& op : f.ops()) {
    proto::Op* po = out->add_ops();
    po->set_kind(op->mnemonic());
    for (int i = 0; i < op->numOperands(); ++i) {
      auto it = ids.find(op->operand(i));
      if (it == ids.end())
        return Status::error(op->loc(), std::string(op->mnemonic()) + ": operand " +
                                            std::to_string(i) + " of an op in @" + f.name() +
                                            " is not defined before it; cannot serialize");
      po->add_operands(it->second);
    }
    for (int i = 0; i < op->numResults(); ++i) {
      ids[op->result(i)] = next;
      writeValue(*op->result(i), next++, po->add_results());
    }
    const OpInfo& info = op->info();
    for (size_t a = 0; a < info.attrs.size(); ++a)
      if (const auto& slot = op->attrSlot(static_cast<int>(a)))
        writeAttr(info.attrs[a].name, *slot, po->add_attrs());
    maybeWriteLoc(op->loc(), po, &proto::Op::mutable_loc);
  }
  for (size_t i = 0; i < f.results().size(); ++i) {
    auto it = ids.find(f.results()[i]);
    if (it == ids.end())
      return Status::error(f.returnLoc, "result " + std::to_string(i) + " of @" + f.name() +
                                            " is not a value of the function; cannot serialize");
    out->add_results(it->second);
  }
  return Status::ok();
}

}  // namespace

StatusOr<std::string> serializeModule(const Module& m) {
  proto::Module pm;
  pm.set_name(m.name);
  for (const Mesh& mesh : m.meshes) writeMesh(mesh, pm.add_meshes());
  for (const SymbolDecl& s : m.symbols) {
    proto::Symbol* ps = pm.add_symbols();
    ps->set_name(s.name);
    ps->set_divisible_by(s.divisibleBy);
    maybeWriteLoc(s.loc, ps, &proto::Symbol::mutable_loc);
  }
  for (const Parameter& p : m.params) {
    proto::Parameter* pp = pm.add_params();
    pp->set_name(p.name);
    writeType(p.type, pp->mutable_type());
    if (p.sharding) writeSharding(*p.sharding, pp->mutable_sharding());
    pp->set_trainable(p.trainable);
    if (p.init) writeTensor(*p.init, pp->mutable_init());
    maybeWriteLoc(p.loc, pp, &proto::Parameter::mutable_loc);
  }
  for (const auto& f : m.functions()) TRY(writeFunction(*f, pm.add_functions()));
  std::string out;
  if (!pm.SerializeToString(&out))
    return Status::error("cannot serialize module @" + m.name + " (larger than 2 GiB?)");
  return out;
}

}  // namespace tessera::ir
