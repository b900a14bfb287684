// The simulated point-to-point channels (Channels.h).
#include "partition/pipeline/Channels.h"

namespace tessera::partition::pipeline {

void Channels::send(int from, int to, std::string tag, std::vector<ir::Tensor> data) {
  std::lock_guard<std::mutex> lock(mu_);
  queues_[{from, to}].push_back({std::move(tag), std::move(data)});
  cv_.notify_all();
}

StatusOr<std::vector<ir::Tensor>> Channels::recv(int from, int to, const std::string& tag,
                                                 const std::string& who) {
  std::unique_lock<std::mutex> lock(mu_);
  auto& q = queues_[{from, to}];
  bool ready = cv_.wait_for(lock, timeout_, [&] { return aborted_ || !q.empty(); });
  if (aborted_ && q.empty()) return Status::error(who + ": " + abortedMessage());
  if (!ready)
    return Status::error(who + ": timed out after " + std::to_string(timeout_.count()) +
                         " ms waiting for the " + tag + " from rank " + std::to_string(from));
  if (q.front().tag != tag)
    return Status::error(who + ": expected the " + tag + " from rank " + std::to_string(from) +
                         ", got the " + q.front().tag);
  std::vector<ir::Tensor> out = std::move(q.front().data);
  q.pop_front();
  return out;
}

void Channels::abort() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = true;
  cv_.notify_all();
}

}  // namespace tessera::partition::pipeline
