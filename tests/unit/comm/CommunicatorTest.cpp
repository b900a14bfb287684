// The backend-independent half of Communicator: argument checks, operation descriptions, request
// life cycle and the timeout path — through a scripted test double, so no MPI is needed.
#include <gtest/gtest.h>

#include <vector>

#include "comm/Communicator.h"

using namespace tessera::comm;

namespace {

// A request that completes after `polls` tests (never, if negative), or fails with `error`.
class ScriptedRequest : public RequestImpl {
 public:
  ScriptedRequest(int polls, std::string error) : left_(polls), error_(std::move(error)) {}
  Status test(bool* done) override {
    if (!error_.empty()) return Status::error(error_);
    *done = left_ == 0;
    if (left_ > 0) --left_;
    return Status::ok();
  }

 private:
  int left_;
  std::string error_;
};

// Rank 1 of 4, records which hook ran; every operation completes after `polls` tests.
class FakeComm : public Communicator {
 public:
  FakeComm() : Communicator("tp", 1, 4, 5, 60) {}
  int polls = 2;
  std::string failWith;
  std::vector<std::string> calls;
  std::vector<std::string> timeouts;

 protected:
  Status make(const std::string& call, std::unique_ptr<RequestImpl>* impl) {
    calls.push_back(call);
    *impl = std::make_unique<ScriptedRequest>(polls, failWith);
    return Status::ok();
  }
  Status doAllReduce(const void*, void*, size_t, DataType, ReduceOp,
                     std::unique_ptr<RequestImpl>* impl) override {
    return make("all_reduce", impl);
  }
  Status doReduceScatter(const void*, void*, size_t, DataType, ReduceOp,
                         std::unique_ptr<RequestImpl>* impl) override {
    return make("reduce_scatter", impl);
  }
  Status doAllGather(const void*, void*, size_t, DataType,
                     std::unique_ptr<RequestImpl>* impl) override {
    return make("all_gather", impl);
  }
  Status doAllToAll(const void*, void*, size_t, DataType,
                    std::unique_ptr<RequestImpl>* impl) override {
    return make("all_to_all", impl);
  }
  Status doSend(const void*, size_t, DataType, int, std::unique_ptr<RequestImpl>* impl) override {
    return make("send", impl);
  }
  Status doRecv(void*, size_t, DataType, int, std::unique_ptr<RequestImpl>* impl) override {
    return make("recv", impl);
  }
  Status doBroadcast(void*, size_t, DataType, int, std::unique_ptr<RequestImpl>* impl) override {
    return make("broadcast", impl);
  }
  Status doBarrier(std::unique_ptr<RequestImpl>* impl) override { return make("barrier", impl); }
  StatusOr<std::unique_ptr<Communicator>> doSplit(int, int, const std::string&) override {
    return Status::error("not in the fake");
  }
  void onTimeout(const std::string& message) override { timeouts.push_back(message); }
};

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

TEST(CommCommunicator, DescribesEachOperation) {
  FakeComm c;
  float a[8] = {}, b[32] = {};
  Request r;
  ASSERT_TRUE(c.startAllReduce(a, b, 8, DataType::F32, ReduceOp::Sum, &r).isOk());
  EXPECT_EQ(r.what(), "all_reduce(sum, f32 x 8)");
  ASSERT_TRUE(c.wait(&r).isOk());
  ASSERT_TRUE(c.startReduceScatter(b, a, 8, DataType::I64, ReduceOp::Max, &r).isOk());
  EXPECT_EQ(r.what(), "reduce_scatter(max, i64 x 8)");
  ASSERT_TRUE(c.wait(&r).isOk());
  ASSERT_TRUE(c.startSend(a, 3, DataType::F64, 2, &r).isOk());
  EXPECT_EQ(r.what(), "send(to 2, f64 x 3)");
  ASSERT_TRUE(c.wait(&r).isOk());
  ASSERT_TRUE(c.startBroadcast(a, 1, DataType::I32, 3, &r).isOk());
  EXPECT_EQ(r.what(), "broadcast(root 3, i32 x 1)");
  ASSERT_TRUE(c.wait(&r).isOk());
  EXPECT_EQ(c.calls, (std::vector<std::string>{"all_reduce", "reduce_scatter", "send", "broadcast"}));
}

TEST(CommCommunicator, BlockingFormsStartAndWait) {
  FakeComm c;
  float a[4] = {}, b[16] = {};
  EXPECT_TRUE(c.allGather(a, b, 4, DataType::F32).isOk());
  EXPECT_TRUE(c.allToAll(b, b + 8, 2, DataType::F32).isOk());
  EXPECT_TRUE(c.recv(a, 4, DataType::F32, 0).isOk());
  EXPECT_TRUE(c.barrier().isOk());
  EXPECT_EQ(c.calls, (std::vector<std::string>{"all_gather", "all_to_all", "recv", "barrier"}));
}

TEST(CommCommunicator, BadArgumentsFailBeforeAnythingIsIssued) {
  FakeComm c;
  float a[8] = {};
  Request r;
  Status nullBuf = c.startAllReduce(nullptr, a, 8, DataType::F32, ReduceOp::Sum, &r);
  EXPECT_TRUE(contains(nullBuf.message(), "communicator 'tp' (rank 1 of 4): all_reduce: null buffer"))
      << nullBuf.message();
  Status peer = c.startSend(a, 8, DataType::F32, 4, &r);
  EXPECT_TRUE(contains(peer.message(), "send: peer 4 is outside [0, 4)")) << peer.message();
  Status negPeer = c.startRecv(a, 8, DataType::F32, -1, &r);
  EXPECT_TRUE(contains(negPeer.message(), "peer -1")) << negPeer.message();
  Status root = c.startBroadcast(a, 8, DataType::F32, 7, &r);
  EXPECT_TRUE(contains(root.message(), "root 7 is outside")) << root.message();
  Status alias = c.startAllGather(a, a, 2, DataType::F32, &r);
  EXPECT_TRUE(contains(alias.message(), "must not alias")) << alias.message();
  Status noReq = c.startBarrier(nullptr);
  EXPECT_FALSE(noReq.isOk());
  EXPECT_TRUE(c.calls.empty());
  EXPECT_FALSE(r.pending());
  // Zero elements need no buffer; an in-place all-reduce is fine.
  EXPECT_TRUE(c.allReduce(nullptr, nullptr, 0, DataType::F32, ReduceOp::Sum).isOk());
  EXPECT_TRUE(c.allReduce(a, a, 8, DataType::F32, ReduceOp::Sum).isOk());
}

TEST(CommCommunicator, PendingRequestCannotBeReused) {
  FakeComm c;
  float a[2] = {};
  Request r;
  ASSERT_TRUE(c.startBarrier(&r).isOk());
  Status again = c.startAllReduce(a, a, 2, DataType::F32, ReduceOp::Sum, &r);
  EXPECT_TRUE(contains(again.message(), "still pending (barrier())")) << again.message();
  ASSERT_TRUE(c.wait(&r).isOk());
  EXPECT_FALSE(r.pending());
  EXPECT_FALSE(c.wait(&r).isOk());  // nothing left to wait for
}

TEST(CommCommunicator, TestReportsCompletionOnce) {
  FakeComm c;
  c.polls = 2;
  Request r;
  ASSERT_TRUE(c.startBarrier(&r).isOk());
  bool done = true;
  ASSERT_TRUE(c.test(&r, &done).isOk());
  EXPECT_FALSE(done);
  ASSERT_TRUE(c.test(&r, &done).isOk());
  EXPECT_FALSE(done);
  ASSERT_TRUE(c.test(&r, &done).isOk());
  EXPECT_TRUE(done);
  EXPECT_FALSE(r.pending());
}

TEST(CommCommunicator, BackendErrorsNameTheOperation) {
  FakeComm c;
  c.failWith = "peer vanished";
  float a[3] = {};
  Status s = c.allReduce(a, a, 3, DataType::F32, ReduceOp::Max);
  EXPECT_TRUE(contains(s.message(), "communicator 'tp'")) << s.message();
  EXPECT_TRUE(contains(s.message(), "all_reduce(max, f32 x 3): peer vanished")) << s.message();
}

TEST(CommCommunicator, ExpiredWaitReportsRankCommunicatorAndCollective) {
  FakeComm c;
  c.polls = -1;  // never completes
  c.setTimeoutSeconds(0.02);
  float a[8] = {};
  Status s = c.allReduce(a, a, 8, DataType::F32, ReduceOp::Sum);
  ASSERT_EQ(c.timeouts.size(), 1u);
  const std::string& m = c.timeouts[0];
  EXPECT_TRUE(contains(m, "rank 5 (rank 1 of 4 in communicator 'tp')")) << m;
  EXPECT_TRUE(contains(m, "all_reduce(sum, f32 x 8)")) << m;
  EXPECT_EQ(s.message(), m);
}
