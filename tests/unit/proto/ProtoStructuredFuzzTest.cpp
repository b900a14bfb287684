// Structure-aware fuzzing: byte flips mostly break the wire format, so this test decodes a valid
// module, sets one field (an attribute, a dim, an operand id, a dtype, a mesh size...) to a hostile
// value such as 0, -1 or INT64_MAX, and feeds the re-encoded bytes to the reader and then the
// verifier. This reaches the shape rules with well-formed but absurd ops; every input must give a
// clean error or an accepted module, never a crash or an absurd allocation.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdint>
#include <limits>
#include <random>

#include "ir/ProtoSerializer.h"
#include "ir/Verifier.h"
#include "tessera.pb.h"
#include "tests/unit/proto/TestModules.h"

namespace tessera::ir {
namespace {

constexpr int64_t kHostile[] = {0,
                                1,
                                -1,
                                2,
                                3,
                                7,
                                -7,
                                int64_t{1} << 31,
                                int64_t{1} << 40,
                                std::numeric_limits<int64_t>::max(),
                                std::numeric_limits<int64_t>::min(),
                                std::numeric_limits<int64_t>::min() + 1};

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  int64_t value() { return kHostile[pick(std::size(kHostile))]; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  void mutateDim(proto::Dim* d) {
    if (d->terms_size() == 0) {
      d->add_terms()->set_den(1);
    }
    proto::Term* t = d->mutable_terms(static_cast<int>(pick(d->terms_size())));
    switch (pick(3)) {
      case 0: t->set_num(value()); break;
      case 1: t->set_den(value()); break;
      default: t->add_symbols(pick(2) ? "B" : "Q"); break;
    }
  }

  void mutateType(proto::TensorType* t) {
    if (pick(3) == 0 || t->shape_size() == 0) {
      t->set_dtype(static_cast<proto::DType>(pick(9)));  // 7 and 8 are out of range
    } else if (pick(4) == 0) {
      t->mutable_shape()->RemoveLast();
    } else {
      mutateDim(t->mutable_shape(static_cast<int>(pick(t->shape_size()))));
    }
  }

  void mutateAttr(proto::Attr* a) {
    switch (a->value_case()) {
      case proto::Attr::kIntValue: a->set_int_value(value()); break;
      case proto::Attr::kFloatValue:
        a->set_float_value(pick(2) ? std::numeric_limits<double>::quiet_NaN() : -1e308);
        break;
      case proto::Attr::kIntList:
        if (a->int_list().values_size() > 0 && pick(2))
          a->mutable_int_list()->set_values(static_cast<int>(pick(a->int_list().values_size())),
                                            value());
        else
          a->mutable_int_list()->add_values(value());
        break;
      case proto::Attr::kDimList:
        if (a->dim_list().values_size() > 0)
          mutateDim(a->mutable_dim_list()->mutable_values(
              static_cast<int>(pick(a->dim_list().values_size()))));
        break;
      case proto::Attr::kAxisList: a->mutable_axis_list()->add_axes(pick(2) ? "dp" : "zz"); break;
      case proto::Attr::kTensor:
        if (a->tensor().shape_size() > 0) a->mutable_tensor()->set_shape(0, value());
        break;
      case proto::Attr::kEnumValue: a->set_enum_value(pick(2) ? "max" : ""); break;
      case proto::Attr::kMeshRef: a->set_mesh_ref(pick(2) ? "stage0" : "m"); break;
      default: a->set_int_value(value()); break;  // wrong kind
    }
  }

  void mutate(proto::Module& pm) {
    proto::Function* f = pm.mutable_functions(0);
    proto::Op* op = f->mutable_ops(static_cast<int>(pick(f->ops_size())));
    switch (pick(8)) {
      case 0:
      case 1:
        if (op->attrs_size() > 0) {
          mutateAttr(op->mutable_attrs(static_cast<int>(pick(op->attrs_size()))));
          break;
        }
        [[fallthrough]];
      case 2:
        if (op->operands_size() > 0) {
          op->set_operands(static_cast<int>(pick(op->operands_size())),
                           static_cast<int64_t>(pick(30)) - 2);
          break;
        }
        [[fallthrough]];
      case 3: mutateType(op->mutable_results(0)->mutable_type()); break;
      case 4: mutateType(f->mutable_arguments(static_cast<int>(pick(f->arguments_size())))
                             ->mutable_type());
        break;
      case 5: {
        proto::Mesh* m = pm.mutable_meshes(static_cast<int>(pick(pm.meshes_size())));
        m->mutable_axes(static_cast<int>(pick(m->axes_size())))->set_size(value());
        break;
      }
      case 6: pm.mutable_symbols(0)->set_divisible_by(value()); break;
      default: op->set_kind(pick(2) ? "reshape" : "top_k"); break;
    }
  }

 private:
  std::mt19937 rng_;
};

TEST(ProtoStructuredFuzz, HostileFieldValues) {
  rlimit lim{};
  if (getrlimit(RLIMIT_AS, &lim) == 0 &&
      (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > (rlim_t{4} << 30))) {
    lim.rlim_cur = rlim_t{4} << 30;
    setrlimit(RLIMIT_AS, &lim);
  }
  auto m = testing::buildRichModule();
  auto bytes = serializeModule(*m);
  ASSERT_TRUE(bytes.isOk());
  proto::Module base;
  ASSERT_TRUE(base.ParseFromString(*bytes));

  Mutator mut(7);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    proto::Module pm = base;
    int edits = 1 + static_cast<int>(mut.pick(3));
    for (int e = 0; e < edits; ++e) mut.mutate(pm);
    std::string in;
    ASSERT_TRUE(pm.SerializeToString(&in));
    auto back = deserializeModule(in, "s.tpb");
    if (!back.isOk()) {
      ++rejected;
      EXPECT_EQ(back.status().message().rfind("error: s.tpb: ", 0), 0u)
          << back.status().message();
      continue;
    }
    ++accepted;
    Status st = verifyModule(**back);
    if (!st) {
      EXPECT_NE(st.message().find("error: "), std::string::npos);
    }
    EXPECT_TRUE(serializeModule(**back).isOk());
  }
  // Both outcomes must occur, or the mutations are not reaching the interesting paths.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace tessera::ir
