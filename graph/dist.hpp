// Data-parallel training's processes: the ranks of an MPI job (OpenMPI,
// started by `mpirun -np N graph-run ...`), as the framework sees them.
//
// One Group, the world, per process. It starts MPI only when the launcher
// says the job has more than one process (launched_size() > 1) and the build
// has MPI (meson -Dmpi, built_with_mpi()); otherwise it is the one-process
// group, and nothing here touches MPI.
//
// Two kinds of collective:
//  - blocking ones on the calling thread (broadcast, sum, gather): between
//    plan runs, called by every rank in the same order;
//  - the gradient reduction, from graph nodes (ops/collective.cpp): a
//    reduce_start node submits a flat buffer by its sequence number, a
//    reduce_wait node waits for it. A thread of the Group's own runs the
//    reductions in sequence order (the order of the nodes in the graph, the
//    same on every rank, whatever order the scheduler runs them in), while
//    the plan goes on with the backward pass: communication overlaps
//    compute.
//
// A reduction is a reduce-scatter and an all-gather (the ring allreduce's
// traffic: 2 (N - 1) / N of the buffer per rank): each rank receives every
// rank's piece of its slice (MPI_Ialltoallv), adds them in rank order, and
// all-gathers the sums (MPI_Iallgatherv). Every element is summed by one
// rank in one fixed order, so every rank holds the same bits, and a run is
// deterministic for a given N, whatever algorithm MPI picks.
#pragma once

#include "graph/params.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sg::dist {

// This build has MPI support (meson -Dmpi, OpenMPI found).
bool built_with_mpi();
// The processes the launcher started in this job (OMPI_COMM_WORLD_SIZE,
// PMI_SIZE), 1 when not started by one.
int launched_size();

// Seconds and bytes of the gradient reduction, summed since the last reset.
struct ReduceStats {
  int64_t reductions = 0; // buffers reduced
  int64_t bytes = 0;      // their size (the gradients' bytes)
  double comm_seconds = 0;    // the communication thread's time in them (submit to done)
  double waited_seconds = 0;  // graph nodes' time blocked waiting for them (the part compute did not hide)
};

class Group {
public:
  // The process's group: MPI's world when launched with > 1 processes (MPI
  // started here, with MPI_THREAD_MULTIPLE), else one process. A launched
  // job in a build without MPI: std::runtime_error saying so.
  static Group& world();
  // The world if world() was called (MPI may be running), else nullptr.
  static Group* started();
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool parallel() const { return size_ > 1; }

  // Blocking collectives: every rank calls them, in the same order.
  void broadcast(void* data, int64_t bytes, int root = 0);
  // Every rank's x (of one length) summed elementwise in rank order: the
  // same bits on every rank.
  std::vector<double> sum(const std::vector<double>& x);
  // Every rank's x, by rank.
  std::vector<uint64_t> gather(uint64_t x);
  void barrier();

  // The sums over the ranks from graph nodes (reduce_start / reduce_wait
  // kernels): buffer `seq` of a plan run (0 starts a run), n float32 or
  // float64 elements, summed across ranks in place. submit returns at
  // once; wait blocks until buffer `seq` of the current run is reduced.
  void submit(int seq, void* data, int64_t n, bool f64);
  void wait(int seq);
  ReduceStats stats() const;
  void reset_stats();

  // Ends every rank of the job (MPI_Abort) after printing `why` on this one.
  [[noreturn]] void abort(int code, const std::string& why);
  // MPI_Finalize after the communication thread is stopped (graph-run's
  // exit; a no-op for one process).
  void finalize();

private:
  Group();
  struct Comm;
  std::unique_ptr<Comm> comm_;
  int rank_ = 0, size_ = 1;
};

// A replica's checksum: a hash of every tensor of `params` (name, shape,
// dtype, bytes), in name order.
uint64_t checksum(const ParamStore& params);
// Every rank's checksum of `params` compared (a collective): std::runtime_error
// naming the ranks whose replica differs from rank 0's, and `when`.
void check_replicas(Group& group, const ParamStore& params, const std::string& when);
// Rank 0's tensors into every rank's `params` (a collective): each rank must
// hold the same names, shapes and dtypes (std::runtime_error naming the
// first that differs otherwise).
void broadcast(Group& group, ParamStore& params);

} // namespace sg::dist
