// Simulated point-to-point channels between the threads that stand for pipeline ranks: one FIFO
// per (sender, receiver). Sends never block (as an eager isend); a receive waits for the next
// message on its channel up to a timeout and checks that it is the one it expects (by a tag the
// caller chooses: the message's identity, or its type), so a wrong order is an error naming both
// messages instead of silently mixed data. When one rank fails, abort() wakes every waiting
// receive so the others stop instead of waiting for the timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace tessera::partition::pipeline {

class Channels {
 public:
  explicit Channels(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  void send(int from, int to, std::string tag, std::vector<ir::Tensor> data);
  // `who` prefixes errors: "pipeline rank 1 action 4 (Ra2<0)".
  StatusOr<std::vector<ir::Tensor>> recv(int from, int to, const std::string& tag, const std::string& who);
  void abort();

  // The text of the error every rank woken by abort() returns.
  static const char* abortedMessage() { return "stopped because another rank failed"; }

 private:
  struct Message {
    std::string tag;
    std::vector<ir::Tensor> data;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<int, int>, std::deque<Message>> queues_;
  std::chrono::milliseconds timeout_;
  bool aborted_ = false;
};

}  // namespace tessera::partition::pipeline
