// The target-neutral description of one fused kernel. Fusion (codegen/fusion/) produces it from a
// group of IR ops; the LLVM lowering (codegen/llvm/) turns it into x86 code today and NVPTX later;
// the kernel evaluator (KernelEvaluator.h) runs it one element at a time as the reference the
// lowering is tested against.
//
// Iteration space. A kernel runs over `rows × cols`: the rows form an `outerRank`-dimensional index
// space (row r decomposes row-major into coordinates c_0..c_{outerRank-1} over the runtime extents),
// and j in [0, cols) is the inner index. Extents are runtime arguments, so one compilation serves
// every value of the symbolic dims (batch, sequence). The runtime splits rows across threads; a row is
// always processed whole by one thread, so row reductions have a fixed order over j (see
// "Reduction order" below: deterministic, identical whatever the thread count, the host's vector
// width or the fusion around them).
//
// Body. An SSA list of scalar instructions. Each instruction is either element-level (a value per
// (row, j)) or row-level (a value per row). `Reduce` turns an element-level value into a row-level
// one; element-level instructions may use row-level values (broadcast along j). A kernel whose
// element-level values depend on a reduction runs several passes over j (softmax: max, then sum of
// exp, then the output); element values are recomputed in each pass, never stored.
//
// Arithmetic is exact IEEE per instruction in the value's type (no fast-math, no FMA contraction):
// a fused kernel computes bit-for-bit what the same ops compute unfused.
//
// Precise rules (the evaluator and the LLVM lowering both implement exactly these):
// - Levels: Const and Coord of a row dim are row-level; a Load/Store is row-level iff its buffer has
//   Broadcast inner access; Unary/Binary/Compare/Select/Cast are element-level iff an arg is.
//   A Store to a Contiguous/Strided output of a row-level value writes it at every j.
// - Reduction order (fixed, independent of the host's vector width and of the fusion around it):
//   kReduceLanes accumulators start at the identity (sum: +0; max: -inf / INT_MIN; min: +inf /
//   INT_MAX); element j < floor(cols / kReduceLanes) * kReduceLanes goes into accumulator
//   j % kReduceLanes; then acc[l] = acc[l] op acc[l + w] for w = 8, 4, 2, 1; then the remaining tail
//   elements are folded into acc[0] in order of j: acc = acc op x[j].
// - Max/Min (binary and reductions) propagate NaN: max(a, b) = isnan(a) ? a : (a > b ? a : b)
//   (min with <). Relu(x) = (isnan(x) || x > 0) ? x : +0.
// - Integers wrap (two's complement); integer Div by 0 gives 0, INT_MIN / -1 gives INT_MIN (truncating
//   division otherwise). Float→int Cast: truncates toward zero, saturates, NaN → 0; float→Bool and
//   int→Bool: x != 0.
// - Transcendentals (Exp, Log, Tanh, Sigmoid, GeluErf, GeluTanh, Silu, Erf) are accurate to a few ulp
//   (compiled code uses its own polynomials; the evaluator uses libm); Sin, Cos, Pow call libm.
//   GeluErf(x) = 0.5 x erfc(-x / sqrt 2); GeluTanh(x) = 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)));
//   Sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) otherwise, e = exp(-|x|);
//   Silu(x) = x * sigmoid(x); Rsqrt(x) = 1 / sqrt(x).
// - Types: Load/Store types equal the buffer's; Unary/Binary args and result share a type; float-only:
//   Exp..Erf, Sin, Cos, Sqrt, Rsqrt, Pow; Bool-only: Not, And, Or; numeric (not Bool): Neg, Abs, Relu,
//   Add..Div, Max, Min, Reduce. Compare args share a type, result Bool. Select: Bool, T, T → T.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::codegen {

enum class ScalarType { F32, F64, I32, I64, Bool };  // Bool is one byte in memory (0 or 1)
const char* scalarTypeName(ScalarType t);
int scalarTypeBytes(ScalarType t);
inline bool isFloatType(ScalarType t) { return t == ScalarType::F32 || t == ScalarType::F64; }

// Number of reduction accumulators (see "Reduction order" above).
constexpr int kReduceLanes = 16;

// How a buffer is addressed along the inner index j (compile-time; the strides are runtime).
enum class InnerAccess {
  Contiguous,  // element (r, j) at rowOffset(r) + j
  Broadcast,   // element (r, j) at rowOffset(r): the same value for every j
  Strided,     // element (r, j) at rowOffset(r) + j * innerStride (runtime)
};

// A buffer the kernel reads or writes. rowOffset(r) = Σ_k c_k(r) * outerStride[k] (in elements);
// an outer stride of 0 broadcasts along that row dimension.
struct BufferDesc {
  ScalarType type = ScalarType::F32;
  InnerAccess inner = InnerAccess::Contiguous;
  std::string name;  // for messages and generated symbol names
};

enum class InstrKind {
  Load,     // operand: buffer index (an input); element-level, or row-level with Broadcast access
  Const,    // value `constant` of `type`
  Coord,    // the coordinate of loop dim `dim` (0..outerRank-1: row dims; outerRank: j) as I64
  Unary,    // fn(args[0])
  Binary,   // fn(args[0], args[1])
  Compare,  // args[0] <cmp> args[1] → Bool
  Select,   // args[0] ? args[1] : args[2]
  Cast,     // convert args[0] to `type` (float→int truncates toward zero; bool is 0/1)
  Reduce,   // row-level reduction over j of element-level args[0] with `reduce`
  Store,    // write args[0] to buffer `buffer` (an output); at (r, j), or at r when row-level
};

enum class UnaryFn { Neg, Abs, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, GeluErf, GeluTanh,
                     Silu, Erf, Sin, Cos, Not };
enum class BinaryFn { Add, Sub, Mul, Div, Pow, Max, Min, And, Or };
enum class CompareFn { Eq, Ne, Lt, Le, Gt, Ge };
enum class ReduceFn { Sum, Max, Min };

const char* instrKindName(InstrKind k);
const char* unaryFnName(UnaryFn f);
const char* binaryFnName(BinaryFn f);
const char* compareFnName(CompareFn f);
const char* reduceFnName(ReduceFn f);

struct Instr {
  InstrKind kind = InstrKind::Const;
  ScalarType type = ScalarType::F32;  // the result type (Store: the stored value's type)
  std::vector<int> args;              // indices of earlier instructions
  int buffer = -1;                    // Load / Store
  int dim = -1;                       // Coord
  double constant = 0;                // Const
  UnaryFn unary = UnaryFn::Neg;
  BinaryFn binary = BinaryFn::Add;
  CompareFn compare = CompareFn::Eq;
  ReduceFn reduce = ReduceFn::Sum;
  bool rowLevel = false;  // computed by validate()/the builder: true when the value is per row
};

struct KernelDesc {
  std::string name;             // a readable name ("softmax_3"); not part of the identity
  int outerRank = 1;            // number of row dimensions (>= 0; 0 means a single row)
  std::vector<BufferDesc> inputs;
  std::vector<BufferDesc> outputs;  // buffer index of output o = inputs.size() + o
  std::vector<Instr> body;

  // A stable, canonical text of everything that affects the generated code (not `name`): the
  // disk-cache key hashes it.
  std::string canonicalText() const;
  // Checks SSA order, arg counts, types, buffer indices, level rules (a Reduce's arg is
  // element-level; a row-level Store stores a row-level value; outputs each stored exactly once), and
  // fills Instr::rowLevel. Errors name the kernel and the instruction.
  std::string validate();  // empty when valid
};

// The runtime arguments of one kernel call. Buffers are in order inputs then outputs.
struct KernelArgs {
  void* const* buffers = nullptr;
  const int64_t* outerExtents = nullptr;  // [outerRank]
  int64_t cols = 0;
  // Per buffer, outerRank outer strides followed by its inner stride (used when Strided), in
  // elements: buffer b's strides start at strides[b * (outerRank + 1)].
  const int64_t* strides = nullptr;
};

// The compiled entry point: processes rows [rowBegin, rowEnd).
using KernelFn = void (*)(const KernelArgs* args, int64_t rowBegin, int64_t rowEnd);

}  // namespace tessera::codegen
