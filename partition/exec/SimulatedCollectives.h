// Simulated collectives over shared memory for the in-process executor: a rendezvous per
// (communicator group, sequence number) where each rank deposits its operand, waits for the whole
// group, computes its own result from every member's operand in group order, and leaves once every
// member has read (the operands stay alive until then). Send and recv go over simulated channels,
// one FIFO per (sender, receiver) link, so pipeline programs run here next to the collectives of
// their stages' own partitioning.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ir/Mesh.h"
#include "ir/RankRuntime.h"

namespace tessera::partition {

class Rendezvous {
 public:
  explicit Rendezvous(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  // Makes every waiting and future collective fail (a rank stopped with an error).
  void abort(const std::string& why);

  struct Slot {
    std::vector<const ir::Tensor*> operands;
    std::vector<std::string> signatures;  // kind and attributes of each member's op
    int arrived = 0, done = 0;
  };
  // Deposits `operand` at `position` of group `key`'s collective number `seq` and waits for all
  // `n` members; returns every member's operand (valid until finish()).
  StatusOr<std::vector<const ir::Tensor*>> arrive(const std::string& key, int64_t seq, int n,
                                                  int position, const ir::Tensor* operand,
                                                  const std::string& signature,
                                                  const std::string& who);
  // Waits until every member has computed its result; the last one frees the slot.
  Status finish(const std::string& key, int64_t seq, int n, const std::string& who);

  // Point to point: a message on link (from, to). Sends are buffered (they return at once); a
  // receive takes the oldest message of its link — MPI's non-overtaking order — after `timeout`
  // an error naming the receiver. `signature` (dtype and shape) must agree on both ends.
  void post(int64_t from, int64_t to, ir::Tensor message, const std::string& signature);
  StatusOr<ir::Tensor> take(int64_t from, int64_t to, const std::string& signature,
                            const std::string& who);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::string, int64_t>, Slot> slots_;
  std::map<std::pair<int64_t, int64_t>, std::deque<std::pair<std::string, ir::Tensor>>> mail_;
  std::chrono::milliseconds timeout_;
  bool aborted_ = false;
  std::string abortReason_;
};

// One rank's view: its coordinates and the shared rendezvous.
class SimulatedRank : public ir::RankRuntime {
 public:
  SimulatedRank(const ir::Mesh& mesh, int64_t rank, Rendezvous& rv);
  StatusOr<int64_t> coordinate(const std::string& mesh, const std::string& axis) const override;
  StatusOr<std::vector<ir::Tensor>> collective(const ir::EvalContext& ctx) override;

 private:
  const ir::Mesh& mesh_;
  int64_t rank_;
  std::vector<int64_t> coords_;
  Rendezvous& rv_;
  std::map<std::string, int64_t> sequence_;  // per group key: collectives issued so far
};

}  // namespace tessera::partition
