// Every collective and point-to-point operation of the MPI Communicator, for every element type, on
// the ranks of one mpirun job (NP: 2 and 4). Each rank's input is a formula of (rank, index), so
// every rank computes the expected result on its own, by a plain loop over the other ranks' inputs.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "comm/Communicator.h"
#include "tests/mpi/support/MpiTest.h"

using namespace tessera::comm;
using tessera::comm::testing_support::world;

namespace {

// Small integers (exact in every type), different on every rank and index, some negative.
template <typename T>
T input(int rank, size_t i) {
  return static_cast<T>(static_cast<long>((rank * 7 + i * 3) % 11) - 4);
}

template <typename T>
std::vector<T> inputOf(int rank, size_t n, size_t offset = 0) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = input<T>(rank, offset + i);
  return v;
}

}  // namespace

template <typename T>
class CommCollectives : public ::testing::Test {
 protected:
  static constexpr DataType kType = dataTypeOf<T>();
  Communicator& c = world();
  int rank = c.rank();
  int size = c.size();
};

using ElementTypes = ::testing::Types<float, double, int32_t, int64_t>;
TYPED_TEST_SUITE(CommCollectives, ElementTypes);

TYPED_TEST(CommCollectives, AllReduceSumAndMax) {
  using T = TypeParam;
  const size_t n = 37;
  std::vector<T> in = inputOf<T>(this->rank, n), sum(n), max(n);
  ASSERT_TRUE(this->c.allReduce(in.data(), sum.data(), n, this->kType, ReduceOp::Sum).isOk());
  ASSERT_TRUE(this->c.allReduce(in.data(), max.data(), n, this->kType, ReduceOp::Max).isOk());
  for (size_t i = 0; i < n; ++i) {
    T s = 0, m = input<T>(0, i);
    for (int r = 0; r < this->size; ++r) {
      s += input<T>(r, i);
      if (input<T>(r, i) > m) m = input<T>(r, i);
    }
    EXPECT_EQ(sum[i], s) << "i=" << i;
    EXPECT_EQ(max[i], m) << "i=" << i;
  }
}

TYPED_TEST(CommCollectives, AllReduceInPlace) {
  using T = TypeParam;
  const size_t n = 9;
  std::vector<T> buf = inputOf<T>(this->rank, n);
  ASSERT_TRUE(this->c.allReduce(buf.data(), buf.data(), n, this->kType, ReduceOp::Sum).isOk());
  for (size_t i = 0; i < n; ++i) {
    T s = 0;
    for (int r = 0; r < this->size; ++r) s += input<T>(r, i);
    EXPECT_EQ(buf[i], s) << "i=" << i;
  }
}

TYPED_TEST(CommCollectives, ReduceScatterGivesEachRankItsBlock) {
  using T = TypeParam;
  const size_t n = 5;
  std::vector<T> in = inputOf<T>(this->rank, n * this->size), sum(n), max(n);
  ASSERT_TRUE(this->c.reduceScatter(in.data(), sum.data(), n, this->kType, ReduceOp::Sum).isOk());
  ASSERT_TRUE(this->c.reduceScatter(in.data(), max.data(), n, this->kType, ReduceOp::Max).isOk());
  for (size_t i = 0; i < n; ++i) {
    size_t j = this->rank * n + i;
    T s = 0, m = input<T>(0, j);
    for (int r = 0; r < this->size; ++r) {
      s += input<T>(r, j);
      m = input<T>(r, j) > m ? input<T>(r, j) : m;
    }
    EXPECT_EQ(sum[i], s) << "i=" << i;
    EXPECT_EQ(max[i], m) << "i=" << i;
  }
}

TYPED_TEST(CommCollectives, AllGatherConcatenatesInRankOrder) {
  using T = TypeParam;
  const size_t n = 6;
  std::vector<T> in = inputOf<T>(this->rank, n), out(n * this->size, T(-99));
  ASSERT_TRUE(this->c.allGather(in.data(), out.data(), n, this->kType).isOk());
  for (int p = 0; p < this->size; ++p)
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(out[p * n + i], input<T>(p, i)) << p << "," << i;
}

TYPED_TEST(CommCollectives, AllToAllTransposesBlocks) {
  using T = TypeParam;
  const size_t n = 3;
  // Block p of rank r's send is addressed to p: its elements encode (sender, receiver, index).
  auto code = [](int from, int to, size_t i) { return static_cast<T>(from * 100 + to * 10 + i); };
  std::vector<T> in(n * this->size), out(n * this->size, T(-1));
  for (int p = 0; p < this->size; ++p)
    for (size_t i = 0; i < n; ++i) in[p * n + i] = code(this->rank, p, i);
  ASSERT_TRUE(this->c.allToAll(in.data(), out.data(), n, this->kType).isOk());
  for (int p = 0; p < this->size; ++p)
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(out[p * n + i], code(p, this->rank, i));
}

TYPED_TEST(CommCollectives, BroadcastFromEveryRoot) {
  using T = TypeParam;
  const size_t n = 11;
  for (int root = 0; root < this->size; ++root) {
    std::vector<T> buf = this->rank == root ? inputOf<T>(root, n) : std::vector<T>(n, T(-99));
    ASSERT_TRUE(this->c.broadcast(buf.data(), n, this->kType, root).isOk());
    EXPECT_EQ(buf, inputOf<T>(root, n)) << "root " << root;
  }
}

TYPED_TEST(CommCollectives, SendRecvAroundARing) {
  using T = TypeParam;
  const size_t n = 13;
  int next = (this->rank + 1) % this->size, prev = (this->rank + this->size - 1) % this->size;
  std::vector<T> out = inputOf<T>(this->rank, n), in(n, T(-99));
  Request r, s;
  ASSERT_TRUE(this->c.startRecv(in.data(), n, this->kType, prev, &r).isOk());
  ASSERT_TRUE(this->c.startSend(out.data(), n, this->kType, next, &s).isOk());
  ASSERT_TRUE(this->c.wait(&s).isOk());
  ASSERT_TRUE(this->c.wait(&r).isOk());
  EXPECT_EQ(in, inputOf<T>(prev, n));
}

TEST(CommAsync, TwoCollectivesInFlightWaitedInReverseOrder) {
  Communicator& c = world();
  const size_t n = 1000;
  std::vector<double> a = inputOf<double>(c.rank(), n), sum(n);
  std::vector<int64_t> g = inputOf<int64_t>(c.rank(), 4), gathered(4 * c.size());
  Request ra, rg;
  ASSERT_TRUE(c.startAllReduce(a.data(), sum.data(), n, DataType::F64, ReduceOp::Sum, &ra).isOk());
  ASSERT_TRUE(c.startAllGather(g.data(), gathered.data(), 4, DataType::I64, &rg).isOk());
  EXPECT_TRUE(ra.pending() && rg.pending());
  ASSERT_TRUE(c.wait(&rg).isOk());
  ASSERT_TRUE(c.wait(&ra).isOk());
  for (size_t i = 0; i < n; ++i) {
    double s = 0;
    for (int r = 0; r < c.size(); ++r) s += input<double>(r, i);
    ASSERT_EQ(sum[i], s) << i;
  }
  for (int p = 0; p < c.size(); ++p)
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(gathered[p * 4 + i], input<int64_t>(p, i));
}

TEST(CommAsync, TestPollsUntilDone) {
  Communicator& c = world();
  int32_t mine = c.rank() + 1, total = 0;
  Request r;
  ASSERT_TRUE(c.startAllReduce(&mine, &total, 1, DataType::I32, ReduceOp::Sum, &r).isOk());
  bool done = false;
  while (!done) ASSERT_TRUE(c.test(&r, &done).isOk());
  EXPECT_FALSE(r.pending());
  EXPECT_EQ(total, c.size() * (c.size() + 1) / 2);
}

TEST(CommBlocking, LargeAllReduceAndBarrier) {
  Communicator& c = world();
  const size_t n = size_t(1) << 20;  // 4 MiB of f32: MPI's segmented/pipelined path
  std::vector<float> in = inputOf<float>(c.rank(), n), out(n);
  ASSERT_TRUE(c.allReduce(in.data(), out.data(), n, DataType::F32, ReduceOp::Sum).isOk());
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    float s = 0;
    for (int r = 0; r < c.size(); ++r) s += input<float>(r, i);
    wrong += out[i] != s;
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_TRUE(c.barrier().isOk());
  EXPECT_TRUE(c.allReduce(nullptr, nullptr, 0, DataType::F32, ReduceOp::Sum).isOk());
}

TEST(CommErrors, BadPeerAndRootAreErrorsOnEveryRank) {
  Communicator& c = world();
  float x = 0;
  Status s = c.send(&x, 1, DataType::F32, c.size());
  EXPECT_NE(s.message().find("communicator 'world'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("peer " + std::to_string(c.size()) + " is outside"),
            std::string::npos) << s.message();
  EXPECT_FALSE(c.broadcast(&x, 1, DataType::F32, -1).isOk());
  EXPECT_TRUE(c.barrier().isOk());  // nothing was issued: the ranks are still in step
}

TEST(CommErrors, ShortMessageIsReportedByTheReceiver) {
  Communicator& c = world();
  if (c.rank() == 0) {
    int32_t three[3] = {1, 2, 3};
    ASSERT_TRUE(c.send(three, 3, DataType::I32, 1).isOk());
  } else if (c.rank() == 1) {
    int32_t five[5] = {};
    Status s = c.recv(five, 5, DataType::I32, 0);
    EXPECT_NE(s.message().find("received 3 elements, expected 5"), std::string::npos)
        << s.message();
  }
  EXPECT_TRUE(c.barrier().isOk());
}
