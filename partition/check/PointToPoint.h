// Point-to-point communication (send/recv) across per-rank programs. Unlike a collective, the two
// ends of a message issue different ops, so "every member issues the same sequence" says nothing
// about them; what pairs them is the link (sender, receiver) and the order on it: the k-th send
// from rank a to rank b is received by b's k-th receive from a (MPI's non-overtaking rule, which
// the in-process executor's channels and the MPI runtime both follow). That pairing is explicit
// here, and it is what
//   - sharding propagation uses to give a receive the layout of its send (OpFactors.h,
//     transferFactors: a matched pair is one transfer), and
//   - the ordering check (CollectiveOrder.h) uses to prove that the programs cannot hang: every
//     rank's communication (collectives and point-to-point) run with blocking semantics — a send
//     completes only when its receiver stands at the matching receive, a collective when its
//     whole group stands at it — must reach the end.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"

namespace tessera::partition {

struct P2PMatch {
  const ir::Op* send = nullptr;
  const ir::Op* recv = nullptr;
  int64_t from = 0, to = 0;  // ranks
};

// The rank a send/recv op issued by `rank` talks to. Errors: an axis the mesh lacks, a peer
// outside the group, a rank talking to itself.
StatusOr<int64_t> peerOf(const ir::Mesh& mesh, int64_t rank, const ir::Op& op);

// Every message of `programs` (programs[r] runs on rank r; ranks may share a function): the k-th
// send on each link with the k-th receive. Errors: those of peerOf, a link whose sends and
// receives differ in number (naming the first unmatched op), a pair whose types differ.
StatusOr<std::vector<P2PMatch>> matchPointToPoint(const ir::Mesh& mesh,
                                                  const std::vector<const ir::Function*>& programs);

// The blocking simulation (see above). OK when every rank reaches its end; otherwise "the
// programs hang: rank R waits at ..." for every stuck rank, or the first pair of a send and a
// receive whose types differ.
Status checkNoHang(const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs);

}  // namespace tessera::partition
