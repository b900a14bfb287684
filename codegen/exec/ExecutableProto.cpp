// Executable <-> protobuf (see ExecutableProto.h).
#include "codegen/exec/ExecutableProto.h"

#include "codegen/fusion/Lowering.h"
#include "executable.pb.h"
#include "ir/ProtoSerializer.h"

namespace tessera::codegen {

namespace pb = tessera::codegen::proto;

namespace {

void putDim(const ir::Dim& d, pb::Dim* out) {
  for (const auto& [mono, coef] : d.terms()) {
    pb::Term* t = out->add_terms();
    for (const std::string& s : mono) t->add_symbols(s);
    t->set_num(coef.num);
    t->set_den(coef.den);
  }
}

void putView(const BufferView& v, pb::View* out) {
  out->set_buffer(v.buffer);
  putDim(v.offset, out->mutable_offset());
  for (const ir::Dim& d : v.shape) putDim(d, out->add_shape());
  for (const ir::Dim& d : v.strides) putDim(d, out->add_strides());
  out->set_write(v.write);
}

int instrFn(const Instr& in) {
  switch (in.kind) {
    case InstrKind::Unary: return static_cast<int>(in.unary);
    case InstrKind::Binary: return static_cast<int>(in.binary);
    case InstrKind::Compare: return static_cast<int>(in.compare);
    case InstrKind::Reduce: return static_cast<int>(in.reduce);
    default: return 0;
  }
}

// Reading: every error carries the file and the field path.
struct Reader {
  std::string file;
  Status err(const std::string& path, const std::string& msg) const {
    return Status::error(file + ": " + path + ": " + msg);
  }
  StatusOr<ir::Dim> dim(const pb::Dim& d, const std::string& path) const {
    ir::Dim out(0);
    for (int i = 0; i < d.terms_size(); ++i) {
      const pb::Term& t = d.terms(i);
      if (t.den() <= 0) return err(path + ".terms[" + std::to_string(i) + "]", "bad denominator");
      ir::Dim term(t.num());
      for (const std::string& s : t.symbols()) {
        if (s.empty()) return err(path, "empty symbol name");
        term = term * ir::Dim::symbol(s);
      }
      out = out + term.divide(t.den());
    }
    return out;
  }
  StatusOr<std::vector<ir::Dim>> dims(const google::protobuf::RepeatedPtrField<pb::Dim>& ds,
                                      const std::string& path) const {
    std::vector<ir::Dim> out;
    for (int i = 0; i < ds.size(); ++i) {
      TRY_ASSIGN(ir::Dim d, dim(ds.Get(i), path + "[" + std::to_string(i) + "]"));
      out.push_back(d);
    }
    return out;
  }
  StatusOr<BufferView> view(const pb::View& v, const std::string& path, int numBuffers) const {
    BufferView out;
    if (v.buffer() < 0 || v.buffer() >= numBuffers)
      return err(path + ".buffer", "no buffer " + std::to_string(v.buffer()));
    out.buffer = v.buffer();
    TRY_ASSIGN(out.offset, dim(v.offset(), path + ".offset"));
    TRY_ASSIGN(out.shape, dims(v.shape(), path + ".shape"));
    TRY_ASSIGN(out.strides, dims(v.strides(), path + ".strides"));
    out.write = v.write();
    return out;
  }
};

bool inRange(int v, int lo, int hi) { return v >= lo && v <= hi; }

}  // namespace

StatusOr<std::string> serializeExecutable(const Executable& exe) {
  pb::Executable out;
  const ir::Module* m = exe.function->module();
  if (!m) return Status::error("the executable's function has no module");
  TRY_ASSIGN(std::string mod, ir::serializeModule(*m));
  out.set_module(mod);
  out.set_function(exe.function->name());
  for (const KernelDesc& k : exe.kernels) {
    pb::Kernel* pk = out.add_kernels();
    pk->set_name(k.name);
    pk->set_outer_rank(k.outerRank);
    for (const auto* list : {&k.inputs, &k.outputs})
      for (const BufferDesc& b : *list) {
        pb::BufferDesc* pd = list == &k.inputs ? pk->add_inputs() : pk->add_outputs();
        pd->set_type(static_cast<int>(b.type));
        pd->set_inner(static_cast<int>(b.inner));
        pd->set_name(b.name);
      }
    for (const Instr& in : k.body) {
      pb::Instr* pi = pk->add_body();
      pi->set_kind(static_cast<int>(in.kind));
      pi->set_type(static_cast<int>(in.type));
      for (int a : in.args) pi->add_args(a);
      pi->set_buffer(in.buffer);
      pi->set_dim(in.dim);
      pi->set_constant(in.constant);
      pi->set_fn(instrFn(in));
    }
  }
  for (const BufferInfo& b : exe.buffers) {
    pb::Buffer* pbuf = out.add_buffers();
    pbuf->set_name(b.name);
    pbuf->set_dtype(static_cast<int>(b.dtype));
    putDim(b.elements, pbuf->mutable_elements());
    pbuf->set_category(static_cast<int>(b.category));
    pbuf->set_argument(b.argument);
  }
  for (const Thunk& t : exe.thunks) {
    pb::Thunk* pt = out.add_thunks();
    pt->set_kind(static_cast<int>(t.kind));
    pt->set_label(t.label);
    pt->set_loc_file(t.loc.file);
    pt->set_loc_line(t.loc.line);
    pt->set_loc_col(t.loc.col);
    for (const BufferView& v : t.views) putView(v, pt->add_views());
    pt->set_kernel(t.kernel);
    for (const ir::Dim& d : t.outer) putDim(d, pt->add_outer());
    putDim(t.cols, pt->mutable_cols());
    pb::Gemm* g = pt->mutable_gemm();
    for (const ir::Dim& d : t.gemm.batch) putDim(d, g->add_batch());
    putDim(t.gemm.m, g->mutable_m());
    putDim(t.gemm.n, g->mutable_n());
    putDim(t.gemm.k, g->mutable_k());
    putDim(t.gemm.lda, g->mutable_lda());
    putDim(t.gemm.ldb, g->mutable_ldb());
    putDim(t.gemm.ldc, g->mutable_ldc());
    g->set_trans_a(t.gemm.transA);
    g->set_trans_b(t.gemm.transB);
    pt->set_op(t.op);
  }
  for (int b : exe.argumentBuffers) out.add_argument_buffers(b);
  for (int b : exe.resultBuffers) out.add_result_buffers(b);
  std::string bytes;
  if (!out.SerializeToString(&bytes)) return Status::error("cannot serialize the executable");
  return bytes;
}

StatusOr<Executable> deserializeExecutable(std::string_view bytes, const std::string& filename) {
  pb::Executable in;
  Reader r{filename};
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::error(filename + ": not a valid Tessera executable (protobuf parse failed)");
  Executable exe;
  TRY_ASSIGN(std::unique_ptr<ir::Module> m, ir::deserializeModule(in.module(), filename));
  exe.ownedModule = std::shared_ptr<ir::Module>(std::move(m));
  exe.function = exe.ownedModule->findFunction(in.function());
  if (!exe.function) return r.err("function", "no function @" + in.function() + " in the module");
  int numOps = exe.function->numOps();
  for (int i = 0; i < in.kernels_size(); ++i) {
    const pb::Kernel& pk = in.kernels(i);
    std::string path = "kernels[" + std::to_string(i) + "]";
    KernelDesc k;
    k.name = pk.name();
    k.outerRank = pk.outer_rank();
    for (const auto* list : {&pk.inputs(), &pk.outputs()})
      for (const pb::BufferDesc& pd : *list) {
        if (!inRange(pd.type(), 0, static_cast<int>(ScalarType::Bool)) ||
            !inRange(pd.inner(), 0, static_cast<int>(InnerAccess::Strided)))
          return r.err(path, "bad buffer type or access");
        BufferDesc b;
        b.type = static_cast<ScalarType>(pd.type());
        b.inner = static_cast<InnerAccess>(pd.inner());
        b.name = pd.name();
        (list == &pk.inputs() ? k.inputs : k.outputs).push_back(b);
      }
    for (int j = 0; j < pk.body_size(); ++j) {
      const pb::Instr& pi = pk.body(j);
      std::string ipath = path + ".body[" + std::to_string(j) + "]";
      if (!inRange(pi.kind(), 0, static_cast<int>(InstrKind::Store)) ||
          !inRange(pi.type(), 0, static_cast<int>(ScalarType::Bool)))
        return r.err(ipath, "bad instruction kind or type");
      Instr ins;
      ins.kind = static_cast<InstrKind>(pi.kind());
      ins.type = static_cast<ScalarType>(pi.type());
      ins.args.assign(pi.args().begin(), pi.args().end());
      ins.buffer = pi.buffer();
      ins.dim = pi.dim();
      ins.constant = pi.constant();
      int fn = pi.fn();
      int maxFn = ins.kind == InstrKind::Unary     ? static_cast<int>(UnaryFn::Not)
                  : ins.kind == InstrKind::Binary  ? static_cast<int>(BinaryFn::Or)
                  : ins.kind == InstrKind::Compare ? static_cast<int>(CompareFn::Ge)
                  : ins.kind == InstrKind::Reduce  ? static_cast<int>(ReduceFn::Min)
                                                   : 0;
      if (!inRange(fn, 0, maxFn)) return r.err(ipath + ".fn", "bad function " + std::to_string(fn));
      ins.unary = static_cast<UnaryFn>(ins.kind == InstrKind::Unary ? fn : 0);
      ins.binary = static_cast<BinaryFn>(ins.kind == InstrKind::Binary ? fn : 0);
      ins.compare = static_cast<CompareFn>(ins.kind == InstrKind::Compare ? fn : 0);
      ins.reduce = static_cast<ReduceFn>(ins.kind == InstrKind::Reduce ? fn : 0);
      k.body.push_back(std::move(ins));
    }
    std::string v = k.validate();
    if (!v.empty()) return r.err(path, v);
    exe.kernels.push_back(std::move(k));
  }
  int nb = in.buffers_size();
  for (int i = 0; i < nb; ++i) {
    const pb::Buffer& pbuf = in.buffers(i);
    std::string path = "buffers[" + std::to_string(i) + "]";
    if (!inRange(pbuf.dtype(), 0, static_cast<int>(ir::DType::Bool)) ||
        !inRange(pbuf.category(), 0, kNumMemCategories - 1) ||
        !inRange(pbuf.argument(), -1, exe.function->numArguments() - 1))
      return r.err(path, "bad dtype, category or argument");
    BufferInfo b;
    b.name = pbuf.name();
    b.dtype = static_cast<ir::DType>(pbuf.dtype());
    TRY_ASSIGN(b.elements, r.dim(pbuf.elements(), path + ".elements"));
    b.category = static_cast<MemCategory>(pbuf.category());
    b.argument = pbuf.argument();
    exe.buffers.push_back(std::move(b));
  }
  for (int i = 0; i < in.thunks_size(); ++i) {
    const pb::Thunk& pt = in.thunks(i);
    std::string path = "thunks[" + std::to_string(i) + "]";
    if (!inRange(pt.kind(), 0, static_cast<int>(ThunkKind::Collective)))
      return r.err(path + ".kind", "bad thunk kind " + std::to_string(pt.kind()));
    Thunk t;
    t.kind = static_cast<ThunkKind>(pt.kind());
    t.label = pt.label();
    t.loc = Location{pt.loc_file(), pt.loc_line(), pt.loc_col()};
    for (int v = 0; v < pt.views_size(); ++v) {
      TRY_ASSIGN(BufferView bv,
                 r.view(pt.views(v), path + ".views[" + std::to_string(v) + "]", nb));
      t.views.push_back(std::move(bv));
    }
    t.kernel = pt.kernel();
    TRY_ASSIGN(t.outer, r.dims(pt.outer(), path + ".outer"));
    TRY_ASSIGN(t.cols, r.dim(pt.cols(), path + ".cols"));
    const pb::Gemm& g = pt.gemm();
    TRY_ASSIGN(t.gemm.batch, r.dims(g.batch(), path + ".gemm.batch"));
    TRY_ASSIGN(t.gemm.m, r.dim(g.m(), path + ".gemm.m"));
    TRY_ASSIGN(t.gemm.n, r.dim(g.n(), path + ".gemm.n"));
    TRY_ASSIGN(t.gemm.k, r.dim(g.k(), path + ".gemm.k"));
    TRY_ASSIGN(t.gemm.lda, r.dim(g.lda(), path + ".gemm.lda"));
    TRY_ASSIGN(t.gemm.ldb, r.dim(g.ldb(), path + ".gemm.ldb"));
    TRY_ASSIGN(t.gemm.ldc, r.dim(g.ldc(), path + ".gemm.ldc"));
    t.gemm.transA = g.trans_a();
    t.gemm.transB = g.trans_b();
    t.op = pt.op();
    // Shape checks of each kind: the runtime indexes by these without further checks.
    switch (t.kind) {
      case ThunkKind::Kernel: {
        if (t.kernel < 0 || t.kernel >= static_cast<int>(exe.kernels.size()))
          return r.err(path + ".kernel", "no kernel " + std::to_string(t.kernel));
        const KernelDesc& k = exe.kernels[t.kernel];
        if (t.views.size() != k.inputs.size() + k.outputs.size() ||
            static_cast<int>(t.outer.size()) != k.outerRank)
          return r.err(path, "views or row dims do not match kernel " + std::to_string(t.kernel));
        for (size_t v = 0; v < t.views.size(); ++v) {
          const BufferView& bv = t.views[v];
          if (static_cast<int>(bv.strides.size()) != k.outerRank + 1)
            return r.err(path, "a view's strides do not match the kernel's loop dims");
          const BufferDesc& d = v < k.inputs.size() ? k.inputs[v] : k.outputs[v - k.inputs.size()];
          ir::DType bt = exe.buffers[bv.buffer].dtype;
          bool ok = bt != ir::DType::BF16 && bt != ir::DType::F16 &&
                    scalarTypeBytes(d.type) == ir::dtypeBytes(bt);
          if (!ok || bv.write != (v >= k.inputs.size()))
            return r.err(path + ".views[" + std::to_string(v) + "]",
                         "does not match the kernel's buffer");
        }
        break;
      }
      case ThunkKind::Gemm:
        if (t.views.size() != 3) return r.err(path + ".views", "a GEMM has 3 views");
        for (const BufferView& bv : t.views) {
          if (bv.strides.size() != t.gemm.batch.size())
            return r.err(path, "a view's strides do not match the batch dims");
          ir::DType bt = exe.buffers[bv.buffer].dtype;
          if (bt != exe.buffers[t.views[0].buffer].dtype ||
              (bt != ir::DType::F32 && bt != ir::DType::F64))
            return r.err(path, "a GEMM's buffers are all f32 or all f64");
        }
        if (!t.views[2].write) return r.err(path, "a GEMM writes its third view");
        break;
      case ThunkKind::Library:
      case ThunkKind::Collective: {
        if (t.op < 0 || t.op >= numOps) return r.err(path + ".op", "no op " + std::to_string(t.op));
        const ir::Op& op = *exe.function->ops()[t.op];
        if (t.views.size() != static_cast<size_t>(op.numOperands() + op.numResults()))
          return r.err(path + ".views", "do not match the operands and results of the op");
        for (size_t v = 0; v < t.views.size(); ++v) {
          bool isResult = v >= static_cast<size_t>(op.numOperands());
          const ir::Value* val = isResult ? op.result(static_cast<int>(v - op.numOperands()))
                                          : op.operand(static_cast<int>(v));
          const BufferView& bv = t.views[v];
          if (bv.write != isResult || bv.shape != val->type().shape ||
              exe.buffers[bv.buffer].dtype != val->type().dtype ||
              bv.strides != rowMajorStrides(bv.shape))
            return r.err(path + ".views[" + std::to_string(v) + "]",
                         "does not match the op's " + std::string(isResult ? "result" : "operand"));
        }
        break;
      }
    }
    exe.thunks.push_back(std::move(t));
  }
  for (int b : in.argument_buffers())
    if (!inRange(b, 0, nb - 1)) return r.err("argument_buffers", "no buffer " + std::to_string(b));
  for (int b : in.result_buffers())
    if (!inRange(b, 0, nb - 1)) return r.err("result_buffers", "no buffer " + std::to_string(b));
  exe.argumentBuffers.assign(in.argument_buffers().begin(), in.argument_buffers().end());
  exe.resultBuffers.assign(in.result_buffers().begin(), in.result_buffers().end());
  if (static_cast<int>(exe.argumentBuffers.size()) != exe.function->numArguments() ||
      exe.resultBuffers.size() != exe.function->results().size())
    return r.err("argument_buffers", "do not match the function's arguments and results");
  return exe;
}

}  // namespace tessera::codegen
