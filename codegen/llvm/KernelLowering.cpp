// KernelDesc → LLVM IR (see KernelLowering.h for the shape of the code). Every scalar operation
// is emitted by one width-agnostic function (emitOp) used for row-level scalars, vector bodies and
// scalar tails alike; this is what makes tails bit-identical to vector bodies.
#include "codegen/llvm/KernelLowering.h"

#include <cassert>
#include <functional>
#include <vector>

#include "codegen/llvm/VectorMath.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

namespace tessera::codegen::llvmgen {

using llvm::Value;

namespace {

class Lowerer {
 public:
  Lowerer(const KernelDesc& d, llvm::Module& m, int w)
      : d_(d), m_(m), ctx_(m.getContext()), b_(ctx_), W_(w), n_(d.body.size()) {}

  llvm::Function* run(const std::string& symbol);

 private:
  // ---- types and constants
  llvm::Type* scalarTy(ScalarType t) {
    switch (t) {
      case ScalarType::F32: return b_.getFloatTy();
      case ScalarType::F64: return b_.getDoubleTy();
      case ScalarType::I32: return b_.getInt32Ty();
      case ScalarType::I64: return b_.getInt64Ty();
      case ScalarType::Bool: return b_.getInt1Ty();
    }
    return nullptr;
  }
  llvm::Type* memTy(ScalarType t) { return t == ScalarType::Bool ? b_.getInt8Ty() : scalarTy(t); }
  llvm::Type* widen(llvm::Type* t, int w) {
    return w == 1 ? t : llvm::FixedVectorType::get(t, w);
  }
  Value* splat(Value* v, int w) { return w == 1 ? v : b_.CreateVectorSplat(w, v); }
  Value* i64(int64_t v) { return b_.getInt64(v); }
  ScalarType bufType(int buf) const {
    int numIn = static_cast<int>(d_.inputs.size());
    return buf < numIn ? d_.inputs[buf].type : d_.outputs[buf - numIn].type;
  }
  InnerAccess bufAccess(int buf) const {
    int numIn = static_cast<int>(d_.inputs.size());
    return buf < numIn ? d_.inputs[buf].inner : d_.outputs[buf - numIn].inner;
  }

  Value* constant(const Instr& in) {
    llvm::Type* t = scalarTy(in.type);
    if (isFloatType(in.type)) {
      if (in.type == ScalarType::F32)
        return llvm::ConstantFP::get(t, static_cast<double>(static_cast<float>(in.constant)));
      return llvm::ConstantFP::get(t, in.constant);
    }
    return llvm::ConstantInt::get(t, static_cast<uint64_t>(static_cast<int64_t>(in.constant)),
                                  true);
  }

  // ---- one operation on values of any width (row-level scalars, vectors, scalar tails)
  Value* emitOp(const Instr& in, const std::vector<Value*>& a);
  Value* emitMaxMin(bool isMax, ScalarType t, Value* x, Value* y);
  Value* emitCast(Value* v, ScalarType from, ScalarType to, int w);
  Value* emitReduceStep(ReduceFn f, ScalarType t, Value* acc, Value* x) {
    if (f == ReduceFn::Sum)
      return isFloatType(t) ? b_.CreateFAdd(acc, x) : b_.CreateAdd(acc, x);
    return emitMaxMin(f == ReduceFn::Max, t, acc, x);
  }
  Value* reduceIdentity(ReduceFn f, ScalarType t, int w);

  // ---- element values
  Value* elem(int i, int w, Value* j, std::vector<Value*>& cache);
  void emitRowLevel(int level);
  void emitReductionPass(const std::vector<int>& reduces, bool prefetchNext);
  void emitStoreLoop(const std::vector<int>& stores);
  // A counted loop [begin, end) step `step`; body(j) emits the body. Returns nothing; the
  // loop-carried values are handled through `carried` (phis created by the helper).
  std::vector<Value*> emitLoop(Value* begin, Value* end, int64_t step,
                               const std::vector<Value*>& init,
                               const std::function<std::vector<Value*>(Value*, const std::vector<Value*>&)>& body);

  const KernelDesc& d_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  int W_;
  size_t n_;
  llvm::Function* fn_ = nullptr;
  std::vector<int> level_;
  Value* cols_ = nullptr;
  std::vector<Value*> innerStride_;
  std::vector<Value*> coords_;
  std::vector<Value*> rowPtr_;
  std::vector<Value*> nextRowPtr_;  // per buffer: the next row (last row dim + 1), for prefetches
  std::vector<Value*> rowVal_;
  // Row scratch (see chooseScratch): per instruction, a stack array of kScratchCols values or
  // null; active only in the row version emitted for rows that fit.
  std::vector<Value*> scratch_;
  bool useScratch_ = false;
  bool storeLoop_ = false;  // emitting the store loop (scratch values are loaded there)
  // Stores the scratch values `cache` holds at j (width w), in the last reduction pass.
  void saveScratch(const std::vector<Value*>& cache, Value* j);
  void chooseScratch(int passes);
  void emitRowBody(int passes);
};

// The last reduction pass computes transcendental element values (softmax's exp(x - max)) that
// the store loop needs again; rows of at most kScratchCols keep them in a stack array instead of
// computing them twice. The stored value is the one the pass computed, so the results are the
// same bits either way.
constexpr int64_t kScratchCols = 2048;
constexpr size_t kMaxScratchValues = 4;

Value* Lowerer::reduceIdentity(ReduceFn f, ScalarType t, int w) {
  llvm::Type* st = scalarTy(t);
  Value* v;
  if (f == ReduceFn::Sum) {
    v = isFloatType(t) ? llvm::ConstantFP::get(st, 0.0) : llvm::ConstantInt::get(st, 0);
  } else if (isFloatType(t)) {
    v = llvm::ConstantFP::getInfinity(st, f == ReduceFn::Max);
  } else {
    unsigned bits = st->getIntegerBitWidth();
    v = llvm::ConstantInt::get(ctx_, f == ReduceFn::Max ? llvm::APInt::getSignedMinValue(bits)
                                                        : llvm::APInt::getSignedMaxValue(bits));
  }
  return splat(v, w);
}

Value* Lowerer::emitMaxMin(bool isMax, ScalarType t, Value* x, Value* y) {
  if (isFloatType(t)) {
    Value* pick = isMax ? b_.CreateFCmpOGT(x, y) : b_.CreateFCmpOLT(x, y);
    Value* m = b_.CreateSelect(pick, x, y);
    return b_.CreateSelect(b_.CreateFCmpUNO(x, x), x, m);
  }
  Value* pick = isMax ? b_.CreateICmpSGT(x, y) : b_.CreateICmpSLT(x, y);
  return b_.CreateSelect(pick, x, y);
}

Value* Lowerer::emitCast(Value* v, ScalarType from, ScalarType to, int w) {
  if (from == to) return v;
  llvm::Type* dst = widen(scalarTy(to), w);
  bool fromF = isFloatType(from), toF = isFloatType(to);
  if (fromF && toF) return b_.CreateFPCast(v, dst);
  if (fromF && to == ScalarType::Bool)
    return b_.CreateFCmpUNE(v, llvm::ConstantFP::get(v->getType(), 0.0));
  if (fromF)
    return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {dst, v->getType()}, {v});
  if (from == ScalarType::Bool) return toF ? b_.CreateUIToFP(v, dst) : b_.CreateZExt(v, dst);
  if (toF) return b_.CreateSIToFP(v, dst);
  if (to == ScalarType::Bool)
    return b_.CreateICmpNE(v, llvm::ConstantInt::get(v->getType(), 0));
  return b_.CreateSExtOrTrunc(v, dst);
}

Value* Lowerer::emitOp(const Instr& in, const std::vector<Value*>& a) {
  auto fc = [&](Value* like, double c) { return llvm::ConstantFP::get(like->getType(), c); };
  switch (in.kind) {
    case InstrKind::Unary: {
      Value* x = a[0];
      bool f = isFloatType(in.type);
      switch (in.unary) {
        case UnaryFn::Neg:
          return f ? b_.CreateFNeg(x) : b_.CreateSub(llvm::ConstantInt::get(x->getType(), 0), x);
        case UnaryFn::Abs:
          if (f) return b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
          return b_.CreateSelect(b_.CreateICmpSLT(x, llvm::ConstantInt::get(x->getType(), 0)),
                                 b_.CreateSub(llvm::ConstantInt::get(x->getType(), 0), x), x);
        case UnaryFn::Relu:
          if (f) return b_.CreateSelect(b_.CreateFCmpUGT(x, fc(x, 0.0)), x, fc(x, 0.0));
          return b_.CreateSelect(b_.CreateICmpSGT(x, llvm::ConstantInt::get(x->getType(), 0)), x,
                                 llvm::ConstantInt::get(x->getType(), 0));
        case UnaryFn::Not: return b_.CreateNot(x);
        case UnaryFn::Sqrt: return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
        case UnaryFn::Rsqrt:
          return b_.CreateFDiv(fc(x, 1.0), b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x));
        case UnaryFn::Exp: return emitMath(b_, m_, MathFn::Exp, x);
        case UnaryFn::Log: return emitMath(b_, m_, MathFn::Log, x);
        case UnaryFn::Tanh: return emitMath(b_, m_, MathFn::Tanh, x);
        case UnaryFn::Erf: return emitMath(b_, m_, MathFn::Erf, x);
        case UnaryFn::Sin: return emitMath(b_, m_, MathFn::Sin, x);
        case UnaryFn::Cos: return emitMath(b_, m_, MathFn::Cos, x);
        case UnaryFn::Sigmoid:
        case UnaryFn::Silu: {
          // 1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below (no overflow to 0).
          Value* e = emitMath(b_, m_, MathFn::Exp, b_.CreateFNeg(b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x)));
          Value* den = b_.CreateFAdd(fc(x, 1.0), e);
          Value* s = b_.CreateSelect(b_.CreateFCmpOGE(x, fc(x, 0.0)), b_.CreateFDiv(fc(x, 1.0), den),
                                     b_.CreateFDiv(e, den));
          return in.unary == UnaryFn::Sigmoid ? s : b_.CreateFMul(x, s);
        }
        case UnaryFn::GeluErf: {
          Value* arg = b_.CreateFMul(b_.CreateFNeg(x), fc(x, 0.70710678118654752440));
          Value* e = emitMath(b_, m_, MathFn::Erfc, arg);
          return b_.CreateFMul(b_.CreateFMul(fc(x, 0.5), x), e);
        }
        case UnaryFn::GeluTanh: {
          // Same association as the evaluator: ((0.044715 * x) * x) * x.
          Value* x3 = b_.CreateFMul(b_.CreateFMul(b_.CreateFMul(fc(x, 0.044715), x), x), x);
          Value* inner = b_.CreateFMul(fc(x, 0.79788456080286535588), b_.CreateFAdd(x, x3));
          Value* t = emitMath(b_, m_, MathFn::Tanh, inner);
          return b_.CreateFMul(b_.CreateFMul(fc(x, 0.5), x), b_.CreateFAdd(fc(x, 1.0), t));
        }
      }
      break;
    }
    case InstrKind::Binary: {
      Value *x = a[0], *y = a[1];
      bool f = isFloatType(in.type);
      switch (in.binary) {
        case BinaryFn::Add: return f ? b_.CreateFAdd(x, y) : b_.CreateAdd(x, y);
        case BinaryFn::Sub: return f ? b_.CreateFSub(x, y) : b_.CreateSub(x, y);
        case BinaryFn::Mul: return f ? b_.CreateFMul(x, y) : b_.CreateMul(x, y);
        case BinaryFn::Div: {
          if (f) return b_.CreateFDiv(x, y);
          llvm::Type* t = x->getType();
          Value* zero = llvm::ConstantInt::get(t, 0);
          Value* minus1 = llvm::ConstantInt::get(t, static_cast<uint64_t>(-1), true);
          Value* isZero = b_.CreateICmpEQ(y, zero);
          Value* isM1 = b_.CreateICmpEQ(y, minus1);
          Value* safe = b_.CreateSelect(b_.CreateOr(isZero, isM1), llvm::ConstantInt::get(t, 1), y);
          Value* q = b_.CreateSDiv(x, safe);
          return b_.CreateSelect(isZero, zero, b_.CreateSelect(isM1, b_.CreateSub(zero, x), q));
        }
        case BinaryFn::Pow: return emitPow(b_, m_, x, y);
        case BinaryFn::Max: return emitMaxMin(true, in.type, x, y);
        case BinaryFn::Min: return emitMaxMin(false, in.type, x, y);
        case BinaryFn::And: return b_.CreateAnd(x, y);
        case BinaryFn::Or: return b_.CreateOr(x, y);
      }
      break;
    }
    case InstrKind::Compare: {
      ScalarType t = d_.body[in.args[0]].type;
      using P = llvm::CmpInst::Predicate;
      static const P fp[] = {P::FCMP_OEQ, P::FCMP_UNE, P::FCMP_OLT,
                             P::FCMP_OLE, P::FCMP_OGT, P::FCMP_OGE};
      static const P sp[] = {P::ICMP_EQ, P::ICMP_NE, P::ICMP_SLT,
                             P::ICMP_SLE, P::ICMP_SGT, P::ICMP_SGE};
      static const P up[] = {P::ICMP_EQ, P::ICMP_NE, P::ICMP_ULT,
                             P::ICMP_ULE, P::ICMP_UGT, P::ICMP_UGE};
      int k = static_cast<int>(in.compare);
      if (isFloatType(t)) return b_.CreateFCmp(fp[k], a[0], a[1]);
      return b_.CreateICmp(t == ScalarType::Bool ? up[k] : sp[k], a[0], a[1]);
    }
    case InstrKind::Select: return b_.CreateSelect(a[0], a[1], a[2]);
    case InstrKind::Cast: {
      int w = 1;
      if (auto* vt = llvm::dyn_cast<llvm::FixedVectorType>(a[0]->getType()))
        w = static_cast<int>(vt->getNumElements());
      return emitCast(a[0], d_.body[in.args[0]].type, in.type, w);
    }
    default: break;
  }
  assert(false && "emitOp: not an arithmetic instruction");
  return nullptr;
}

Value* Lowerer::elem(int i, int w, Value* j, std::vector<Value*>& cache) {
  if (cache[i]) return cache[i];
  const Instr& in = d_.body[i];
  Value* v = nullptr;
  if (storeLoop_ && useScratch_ && scratch_[i]) {  // computed by the last reduction pass
    llvm::Type* t = scalarTy(in.type);
    v = b_.CreateAlignedLoad(widen(t, w), b_.CreateGEP(t, scratch_[i], j),
                             llvm::Align(scalarTypeBytes(in.type)));
  } else if (in.rowLevel) {
    v = splat(rowVal_[i], w);
  } else if (in.kind == InstrKind::Load) {
    llvm::Type* mt = memTy(in.type);
    llvm::Align align(scalarTypeBytes(in.type));
    if (bufAccess(in.buffer) == InnerAccess::Contiguous) {
      Value* p = b_.CreateGEP(mt, rowPtr_[in.buffer], j);
      v = b_.CreateAlignedLoad(widen(mt, w), p, align);
    } else {  // Strided: a gather
      Value* idx = b_.CreateMul(j, innerStride_[in.buffer]);
      if (w == 1) {
        v = b_.CreateAlignedLoad(mt, b_.CreateGEP(mt, rowPtr_[in.buffer], idx), align);
      } else {
        std::vector<llvm::Constant*> lanes;
        for (int l = 0; l < w; ++l) lanes.push_back(b_.getInt64(l));
        Value* laneIdx = b_.CreateMul(llvm::ConstantVector::get(lanes),
                                      splat(innerStride_[in.buffer], w));
        Value* ptrs = b_.CreateGEP(mt, rowPtr_[in.buffer], b_.CreateAdd(splat(idx, w), laneIdx));
        v = b_.CreateMaskedGather(widen(mt, w), ptrs, align);
      }
    }
    if (in.type == ScalarType::Bool) v = b_.CreateICmpNE(v, llvm::Constant::getNullValue(v->getType()));
  } else if (in.kind == InstrKind::Coord) {  // the inner index j
    if (w == 1) {
      v = j;
    } else {
      std::vector<llvm::Constant*> lanes;
      for (int l = 0; l < w; ++l) lanes.push_back(b_.getInt64(l));
      v = b_.CreateAdd(splat(j, w), llvm::ConstantVector::get(lanes));
    }
  } else {
    std::vector<Value*> args;
    for (int a : in.args) args.push_back(elem(a, w, j, cache));
    v = emitOp(in, args);
  }
  cache[i] = v;
  return v;
}

std::vector<Value*> Lowerer::emitLoop(
    Value* begin, Value* end, int64_t step, const std::vector<Value*>& init,
    const std::function<std::vector<Value*>(Value*, const std::vector<Value*>&)>& body) {
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  auto* header = llvm::BasicBlock::Create(ctx_, "loop", fn_);
  auto* bodyBB = llvm::BasicBlock::Create(ctx_, "body", fn_);
  auto* exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
  b_.CreateBr(header);
  b_.SetInsertPoint(header);
  llvm::PHINode* j = b_.CreatePHI(b_.getInt64Ty(), 2, "j");
  j->addIncoming(begin, pre);
  std::vector<llvm::PHINode*> phis;
  std::vector<Value*> cur;
  for (Value* v : init) {
    phis.push_back(b_.CreatePHI(v->getType(), 2));
    phis.back()->addIncoming(v, pre);
    cur.push_back(phis.back());
  }
  b_.CreateCondBr(b_.CreateICmpSLT(j, end), bodyBB, exit);
  b_.SetInsertPoint(bodyBB);
  std::vector<Value*> next = body(j, cur);
  Value* jn = b_.CreateAdd(j, i64(step));
  llvm::BasicBlock* latch = b_.GetInsertBlock();
  b_.CreateBr(header);
  j->addIncoming(jn, latch);
  for (size_t k = 0; k < phis.size(); ++k) phis[k]->addIncoming(next[k], latch);
  b_.SetInsertPoint(exit);
  return cur;
}

void Lowerer::emitRowLevel(int level) {
  for (size_t i = 0; i < n_; ++i) {
    const Instr& in = d_.body[i];
    if (!in.rowLevel || level_[i] != level || in.kind == InstrKind::Reduce) continue;
    switch (in.kind) {
      case InstrKind::Load: {
        Value* v = b_.CreateAlignedLoad(memTy(in.type), rowPtr_[in.buffer],
                                        llvm::Align(scalarTypeBytes(in.type)));
        if (in.type == ScalarType::Bool) v = b_.CreateICmpNE(v, b_.getInt8(0));
        rowVal_[i] = v;
        break;
      }
      case InstrKind::Const: rowVal_[i] = constant(in); break;
      case InstrKind::Coord: rowVal_[i] = coords_[in.dim]; break;
      case InstrKind::Store: break;  // at the end of the row
      default: {
        std::vector<Value*> args;
        for (int a : in.args) args.push_back(rowVal_[a]);
        rowVal_[i] = emitOp(in, args);
      }
    }
  }
}

void Lowerer::emitReductionPass(const std::vector<int>& reduces, bool prefetchNext) {
  const int chunks = kReduceLanes / W_;
  std::vector<Value*> init;
  for (int r : reduces)
    for (int c = 0; c < chunks; ++c)
      init.push_back(reduceIdentity(d_.body[r].reduce, d_.body[r].type, W_));
  Value* bodyEnd = b_.CreateAnd(cols_, i64(-kReduceLanes));
  std::vector<Value*> acc = emitLoop(
      i64(0), bodyEnd, kReduceLanes, init, [&](Value* j, const std::vector<Value*>& cur) {
        std::vector<Value*> next(cur.size());
        // After the first pass the row is in L1 and the passes compute: fetch the next row's
        // contiguous inputs meanwhile (one cache line per kReduceLanes elements), so that the
        // first pass of the next row does not wait for memory. A prefetch never faults.
        if (prefetchNext)
          for (size_t bi = 0; bi < d_.inputs.size(); ++bi)
            if (nextRowPtr_[bi] && d_.inputs[bi].inner == InnerAccess::Contiguous)
              b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {b_.getPtrTy()},
                                 {b_.CreateGEP(memTy(d_.inputs[bi].type), nextRowPtr_[bi], j),
                                  b_.getInt32(0), b_.getInt32(3), b_.getInt32(1)});
        for (int c = 0; c < chunks; ++c) {
          std::vector<Value*> cache(n_, nullptr);
          Value* jc = b_.CreateAdd(j, i64(c * W_));
          for (size_t k = 0; k < reduces.size(); ++k) {
            const Instr& in = d_.body[reduces[k]];
            Value* x = elem(in.args[0], W_, jc, cache);
            next[k * chunks + c] = emitReduceStep(in.reduce, in.type, cur[k * chunks + c], x);
          }
          saveScratch(cache, jc);
        }
        return next;
      });
  // The fixed tree: acc[l] op= acc[l + w] for w = 8, 4, 2, 1 over the kReduceLanes lanes.
  std::vector<Value*> tails;
  for (size_t k = 0; k < reduces.size(); ++k) {
    const Instr& in = d_.body[reduces[k]];
    std::vector<Value*> a(acc.begin() + k * chunks, acc.begin() + (k + 1) * chunks);
    for (int w = kReduceLanes / 2; w >= 1; w /= 2) {
      if (w >= W_) {
        for (int c = 0; c < w / W_; ++c) a[c] = emitReduceStep(in.reduce, in.type, a[c], a[c + w / W_]);
      } else {
        std::vector<int> mask(W_);
        for (int l = 0; l < W_; ++l) mask[l] = l + w < W_ ? l + w : -1;
        Value* sh = b_.CreateShuffleVector(a[0], mask);
        a[0] = emitReduceStep(in.reduce, in.type, a[0], sh);
      }
    }
    tails.push_back(W_ == 1 ? a[0] : b_.CreateExtractElement(a[0], uint64_t{0}));
  }
  std::vector<Value*> res = emitLoop(bodyEnd, cols_, 1, tails,
                                     [&](Value* j, const std::vector<Value*>& cur) {
                                       std::vector<Value*> cache(n_, nullptr);
                                       std::vector<Value*> next;
                                       for (size_t k = 0; k < reduces.size(); ++k) {
                                         const Instr& in = d_.body[reduces[k]];
                                         Value* x = elem(in.args[0], 1, j, cache);
                                         next.push_back(emitReduceStep(in.reduce, in.type, cur[k], x));
                                       }
                                       saveScratch(cache, j);
                                       return next;
                                     });
  for (size_t k = 0; k < reduces.size(); ++k) rowVal_[reduces[k]] = res[k];
}

void Lowerer::emitStoreLoop(const std::vector<int>& stores) {
  auto emitStores = [&](Value* j, int w) {
    std::vector<Value*> cache(n_, nullptr);
    for (int s : stores) {
      const Instr& in = d_.body[s];
      Value* v = elem(in.args[0], w, j, cache);
      llvm::Type* mt = memTy(in.type);
      if (in.type == ScalarType::Bool) v = b_.CreateZExt(v, widen(mt, w));
      llvm::Align align(scalarTypeBytes(in.type));
      if (bufAccess(in.buffer) == InnerAccess::Contiguous) {
        b_.CreateAlignedStore(v, b_.CreateGEP(mt, rowPtr_[in.buffer], j), align);
      } else {
        Value* idx = b_.CreateMul(j, innerStride_[in.buffer]);
        if (w == 1) {
          b_.CreateAlignedStore(v, b_.CreateGEP(mt, rowPtr_[in.buffer], idx), align);
        } else {
          std::vector<llvm::Constant*> lanes;
          for (int l = 0; l < w; ++l) lanes.push_back(b_.getInt64(l));
          Value* laneIdx = b_.CreateMul(llvm::ConstantVector::get(lanes),
                                        splat(innerStride_[in.buffer], w));
          Value* ptrs = b_.CreateGEP(mt, rowPtr_[in.buffer], b_.CreateAdd(splat(idx, w), laneIdx));
          b_.CreateMaskedScatter(v, ptrs, align);
        }
      }
    }
  };
  Value* vecEnd = b_.CreateAnd(cols_, i64(-W_));
  storeLoop_ = true;
  emitLoop(i64(0), vecEnd, W_, {}, [&](Value* j, const std::vector<Value*>&) {
    emitStores(j, W_);
    return std::vector<Value*>{};
  });
  emitLoop(vecEnd, cols_, 1, {}, [&](Value* j, const std::vector<Value*>&) {
    emitStores(j, 1);
    return std::vector<Value*>{};
  });
  storeLoop_ = false;
}

void Lowerer::saveScratch(const std::vector<Value*>& cache, Value* j) {
  if (!useScratch_) return;
  for (size_t i = 0; i < n_; ++i)
    if (scratch_[i] && cache[i]) {
      llvm::Type* t = scalarTy(d_.body[i].type);
      b_.CreateAlignedStore(cache[i], b_.CreateGEP(t, scratch_[i], j),
                            llvm::Align(scalarTypeBytes(d_.body[i].type)));
    }
}

void Lowerer::chooseScratch(int passes) {
  scratch_.assign(n_, nullptr);
  if (passes == 0) return;
  // used[i]: bit 0 = feeds a last-pass reduction, bit 1 = feeds an element-level store.
  std::vector<int> used(n_, 0);
  for (size_t i = n_; i-- > 0;) {
    const Instr& in = d_.body[i];
    if (in.kind == InstrKind::Reduce && level_[i] == passes) used[i] |= 1;
    if (in.kind == InstrKind::Store && !in.rowLevel) used[i] |= 2;
    if (in.rowLevel && in.kind != InstrKind::Reduce) continue;
    for (int a : in.args)
      if (!d_.body[a].rowLevel) used[a] |= used[i];
  }
  size_t chosen = 0;
  for (size_t i = 0; i < n_ && chosen < kMaxScratchValues; ++i) {
    const Instr& in = d_.body[i];
    bool costly = in.kind == InstrKind::Unary && isFloatType(in.type) &&
                  in.unary != UnaryFn::Neg && in.unary != UnaryFn::Abs &&
                  in.unary != UnaryFn::Relu && in.unary != UnaryFn::Sqrt;
    costly |= in.kind == InstrKind::Binary && in.binary == BinaryFn::Pow;
    if (!costly || in.rowLevel || level_[i] != passes - 1 || used[i] != 3) continue;
    // A static array in the entry block: no stack growth per row.
    llvm::IRBuilderBase::InsertPointGuard guard(b_);
    llvm::BasicBlock& entry = fn_->getEntryBlock();
    b_.SetInsertPoint(&entry, entry.begin());
    scratch_[i] = b_.CreateAlloca(llvm::ArrayType::get(scalarTy(in.type), kScratchCols));
    ++chosen;
  }
}

llvm::Function* Lowerer::run(const std::string& symbol) {
  const int rank = d_.outerRank;
  const int numBuf = static_cast<int>(d_.inputs.size() + d_.outputs.size());
  llvm::Type* ptrTy = b_.getPtrTy();
  auto* fnTy = llvm::FunctionType::get(b_.getVoidTy(), {ptrTy, b_.getInt64Ty(), b_.getInt64Ty()},
                                       false);
  fn_ = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage, symbol, m_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  if (W_ >= 16) {
    fn_->addFnAttr("min-legal-vector-width", "512");
    fn_->addFnAttr("prefer-vector-width", "512");
  }
  auto* entry = llvm::BasicBlock::Create(ctx_, "entry", fn_);
  b_.SetInsertPoint(entry);
  Value* args = fn_->getArg(0);
  Value* rowBegin = fn_->getArg(1);
  Value* rowEnd = fn_->getArg(2);

  // Levels: how many reduction passes must finish before a value can be computed.
  level_.assign(n_, 0);
  int passes = 0;
  for (size_t i = 0; i < n_; ++i) {
    const Instr& in = d_.body[i];
    for (int a : in.args) level_[i] = std::max(level_[i], level_[a]);
    if (in.kind == InstrKind::Reduce) passes = std::max(passes, ++level_[i]);
  }

  // KernelArgs: {buffers, outerExtents, cols, strides}, 8 bytes each.
  auto field = [&](int k, llvm::Type* t) {
    return b_.CreateAlignedLoad(t, b_.CreateConstGEP1_64(b_.getInt8Ty(), args, k * 8),
                                llvm::Align(8));
  };
  Value* buffers = field(0, ptrTy);
  Value* extentsPtr = field(1, ptrTy);
  cols_ = field(2, b_.getInt64Ty());
  Value* strides = field(3, ptrTy);
  auto loadI64 = [&](Value* base, int64_t idx) {
    return b_.CreateAlignedLoad(b_.getInt64Ty(), b_.CreateConstGEP1_64(b_.getInt64Ty(), base, idx),
                                llvm::Align(8));
  };
  std::vector<Value*> base(numBuf);
  std::vector<std::vector<Value*>> outer(numBuf);
  innerStride_.assign(numBuf, nullptr);
  for (int bi = 0; bi < numBuf; ++bi) {
    base[bi] = b_.CreateAlignedLoad(ptrTy, b_.CreateConstGEP1_64(ptrTy, buffers, bi), llvm::Align(8));
    for (int k = 0; k < rank; ++k) outer[bi].push_back(loadI64(strides, bi * (rank + 1) + k));
    innerStride_[bi] = loadI64(strides, bi * (rank + 1) + rank);
  }
  std::vector<Value*> extents;
  for (int k = 0; k < rank; ++k) extents.push_back(loadI64(extentsPtr, k));
  chooseScratch(passes);

  emitLoop(rowBegin, rowEnd, 1, {}, [&](Value* r, const std::vector<Value*>&) {
    coords_.assign(rank, nullptr);
    Value* rest = r;
    for (int k = rank - 1; k >= 1; --k) {
      coords_[k] = b_.CreateURem(rest, extents[k]);
      rest = b_.CreateUDiv(rest, extents[k]);
    }
    if (rank > 0) coords_[0] = rest;
    rowPtr_.assign(numBuf, nullptr);
    for (int bi = 0; bi < numBuf; ++bi) {
      Value* off = i64(0);
      for (int k = 0; k < rank; ++k) off = b_.CreateAdd(off, b_.CreateMul(coords_[k], outer[bi][k]));
      rowPtr_[bi] = b_.CreateGEP(memTy(bufType(bi)), base[bi], off);
    }
    nextRowPtr_.assign(numBuf, nullptr);
    if (rank > 0)
      for (int bi = 0; bi < numBuf; ++bi)
        nextRowPtr_[bi] = b_.CreateGEP(memTy(bufType(bi)), rowPtr_[bi], outer[bi][rank - 1]);
    bool anyScratch = false;
    for (Value* v : scratch_) anyScratch |= v != nullptr;
    if (!anyScratch) {
      emitRowBody(passes);
    } else {  // two versions of the row: with the scratch (short rows) and without
      auto* withBB = llvm::BasicBlock::Create(ctx_, "row_scratch", fn_);
      auto* withoutBB = llvm::BasicBlock::Create(ctx_, "row_plain", fn_);
      auto* joinBB = llvm::BasicBlock::Create(ctx_, "row_done", fn_);
      b_.CreateCondBr(b_.CreateICmpSLE(cols_, i64(kScratchCols)), withBB, withoutBB);
      b_.SetInsertPoint(withBB);
      useScratch_ = true;
      emitRowBody(passes);
      useScratch_ = false;
      b_.CreateBr(joinBB);
      b_.SetInsertPoint(withoutBB);
      emitRowBody(passes);
      b_.CreateBr(joinBB);
      b_.SetInsertPoint(joinBB);
    }
    return std::vector<Value*>{};
  });
  b_.CreateRetVoid();
  return fn_;
}

void Lowerer::emitRowBody(int passes) {
  rowVal_.assign(n_, nullptr);
  emitRowLevel(0);
  for (int p = 0; p < passes; ++p) {
    std::vector<int> reduces;
    for (size_t i = 0; i < n_; ++i)
      if (d_.body[i].kind == InstrKind::Reduce && level_[i] == p + 1)
        reduces.push_back(static_cast<int>(i));
    bool last = p + 1 == passes;
    bool scratch = useScratch_;
    useScratch_ = scratch && last;  // only the last pass saves values
    emitReductionPass(reduces, /*prefetchNext=*/p == passes - 1 && p > 0);
    useScratch_ = scratch;
    emitRowLevel(p + 1);
  }
  std::vector<int> elemStores;
  for (size_t i = 0; i < n_; ++i) {
    const Instr& in = d_.body[i];
    if (in.kind == InstrKind::Store && !in.rowLevel) elemStores.push_back(static_cast<int>(i));
  }
  if (!elemStores.empty()) emitStoreLoop(elemStores);
  for (size_t i = 0; i < n_; ++i) {
    const Instr& in = d_.body[i];
    if (in.kind != InstrKind::Store || !in.rowLevel) continue;
    Value* v = rowVal_[in.args[0]];
    if (in.type == ScalarType::Bool) v = b_.CreateZExt(v, b_.getInt8Ty());
    b_.CreateAlignedStore(v, rowPtr_[in.buffer], llvm::Align(scalarTypeBytes(in.type)));
  }
}

}  // namespace

llvm::Function* lowerKernel(const KernelDesc& desc, llvm::Module& m, const std::string& symbol,
                            int vectorWidth) {
  assert(vectorWidth >= 1 && kReduceLanes % vectorWidth == 0);
  return Lowerer(desc, m, vectorWidth).run(symbol);
}

}  // namespace tessera::codegen::llvmgen
