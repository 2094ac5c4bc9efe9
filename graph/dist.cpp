#include "graph/dist.hpp"

#include "graph/random.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#ifdef SEQGRAPH_HAVE_MPI
#include <mpi.h>
#endif

namespace sg::dist {

bool built_with_mpi() {
#ifdef SEQGRAPH_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int launched_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var); v && std::atoi(v) > 1) return std::atoi(v);
  return 1;
}

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
} // namespace

#ifdef SEQGRAPH_HAVE_MPI

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(fmt::format("MPI: {} failed: {}", what, std::string(text, size_t(len))));
}

// Waits for `req` without spinning a core: MPI progresses it inside
// MPI_Test; between tests the thread sleeps, so that the rank's compute
// threads keep the cores (the job may have as many ranks as cores).
void finish(MPI_Request& req) {
  for (int polls = 0;; ++polls) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    if (polls > 64) std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

} // namespace

struct Group::Comm {
  int rank = 0, size = 1;
  // The reduction queue: slot k holds buffer k of the current run.
  struct Job {
    void* data = nullptr;
    int64_t n = 0;
    bool f64 = false;
    bool submitted = false;
  };
  std::mutex m;
  std::condition_variable cv;
  std::vector<Job> jobs; // of the current run, by sequence number
  int done = 0;          // reduced in the current run (in sequence order)
  bool stop = false;
  std::string error;     // the communication thread's failure, if any
  ReduceStats stats;
  std::vector<Clock::time_point> submitted_at;
  std::vector<char> scratch;
  std::thread thread;

  template <class T> void reduce(T* data, int64_t n, MPI_Datatype type) {
    std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
    for (int r = 0, at = 0; r < size; ++r) {
      counts[size_t(r)] = int(n / size + (r < n % size ? 1 : 0));
      displs[size_t(r)] = at;
      at += counts[size_t(r)];
    }
    const int mine = counts[size_t(rank)];
    scratch.resize(size_t(size) * size_t(mine) * sizeof(T));
    T* recv = reinterpret_cast<T*>(scratch.data());
    std::vector<int> rcounts(static_cast<size_t>(size), mine), rdispls(static_cast<size_t>(size));
    for (int r = 0; r < size; ++r) rdispls[size_t(r)] = r * mine;
    MPI_Request req;
    check(MPI_Ialltoallv(data, counts.data(), displs.data(), type, recv, rcounts.data(), rdispls.data(), type,
                         MPI_COMM_WORLD, &req),
          "MPI_Ialltoallv");
    finish(req);
    // my slice: every rank's piece, added in rank order
    T* out = data + displs[size_t(rank)];
    std::copy(recv, recv + mine, out);
    for (int r = 1; r < size; ++r) {
      const T* piece = recv + size_t(r) * size_t(mine);
      for (int i = 0; i < mine; ++i) out[i] += piece[i];
    }
    check(MPI_Iallgatherv(MPI_IN_PLACE, 0, type, data, counts.data(), displs.data(), type, MPI_COMM_WORLD, &req),
          "MPI_Iallgatherv");
    finish(req);
  }

  void loop() {
    std::unique_lock lock(m);
    for (;;) {
      cv.wait(lock, [&] { return stop || (size_t(done) < jobs.size() && jobs[size_t(done)].submitted); });
      if (stop) return;
      Job job = jobs[size_t(done)];
      const Clock::time_point t0 = submitted_at[size_t(done)];
      lock.unlock();
      std::string failed;
      try {
        if (job.f64) reduce(static_cast<double*>(job.data), job.n, MPI_DOUBLE);
        else reduce(static_cast<float*>(job.data), job.n, MPI_FLOAT);
      } catch (const std::exception& e) {
        failed = e.what();
      }
      lock.lock();
      if (!failed.empty()) error = failed;
      stats.reductions += 1;
      stats.bytes += job.n * (job.f64 ? 8 : 4);
      stats.comm_seconds += since(t0);
      ++done;
      cv.notify_all();
    }
  }
};

Group::Group() {
  if (launched_size() <= 1) return;
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_MULTIPLE)
    throw std::runtime_error("MPI: this MPI library does not provide MPI_THREAD_MULTIPLE (the gradient "
                             "reduction runs on a thread of its own)");
  // Errors come back as codes (check() turns them into exceptions that name the call)
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  comm_ = std::make_unique<Comm>();
  comm_->rank = rank_;
  comm_->size = size_;
  comm_->thread = std::thread([c = comm_.get()] { c->loop(); });
}

void Group::finalize() {
  if (!comm_) return;
  {
    std::lock_guard lock(comm_->m);
    comm_->stop = true;
  }
  comm_->cv.notify_all();
  comm_->thread.join();
  comm_.reset();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Group::~Group() {
  if (comm_) {
    std::lock_guard lock(comm_->m);
    comm_->stop = true;
    comm_->cv.notify_all();
  }
  if (comm_ && comm_->thread.joinable()) comm_->thread.join();
}

void Group::broadcast(void* data, int64_t bytes, int root) {
  if (!comm_) return;
  for (int64_t at = 0; at < bytes;) { // MPI counts are int
    const int n = int(std::min<int64_t>(bytes - at, 1 << 30));
    check(MPI_Bcast(static_cast<char*>(data) + at, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    at += n;
  }
}

std::vector<double> Group::sum(const std::vector<double>& x) {
  if (!comm_) return x;
  std::vector<double> all(x.size() * size_t(size_));
  check(MPI_Allgather(x.data(), int(x.size()), MPI_DOUBLE, all.data(), int(x.size()), MPI_DOUBLE, MPI_COMM_WORLD),
        "MPI_Allgather");
  std::vector<double> s(x.size(), 0.0);
  for (int r = 0; r < size_; ++r)
    for (size_t i = 0; i < x.size(); ++i) s[i] += all[size_t(r) * x.size() + i];
  return s;
}

std::vector<uint64_t> Group::gather(uint64_t x) {
  if (!comm_) return {x};
  std::vector<uint64_t> all(static_cast<size_t>(size_));
  check(MPI_Allgather(&x, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
  return all;
}

void Group::barrier() {
  if (comm_) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void Group::submit(int seq, void* data, int64_t n, bool f64) {
  if (!comm_) return;
  Comm& c = *comm_;
  {
    std::lock_guard lock(c.m);
    if (seq == 0) { // a new run: the previous one's waits have all returned
      c.jobs.clear();
      c.submitted_at.clear();
      c.done = 0;
    }
    if (seq < 0 || seq < c.done || (size_t(seq) < c.jobs.size() && c.jobs[size_t(seq)].submitted))
      throw std::logic_error(fmt::format("reduce_start: buffer {} submitted twice in a run", seq));
    if (size_t(seq) >= c.jobs.size()) {
      c.jobs.resize(size_t(seq) + 1);
      c.submitted_at.resize(size_t(seq) + 1);
    }
    c.jobs[size_t(seq)] = {data, n, f64, true};
    c.submitted_at[size_t(seq)] = Clock::now();
  }
  c.cv.notify_all();
}

void Group::wait(int seq) {
  if (!comm_) return;
  Comm& c = *comm_;
  const auto t0 = Clock::now();
  std::unique_lock lock(c.m);
  c.cv.wait(lock, [&] { return c.done > seq || c.stop; });
  c.stats.waited_seconds += since(t0);
  if (!c.error.empty()) throw std::runtime_error(c.error);
}

ReduceStats Group::stats() const {
  if (!comm_) return {};
  std::lock_guard lock(comm_->m);
  return comm_->stats;
}

void Group::reset_stats() {
  if (!comm_) return;
  std::lock_guard lock(comm_->m);
  comm_->stats = {};
}

void Group::abort(int code, const std::string& why) {
  std::fprintf(stderr, "%s\n", why.c_str());
  std::fflush(stderr);
  if (comm_) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

#else // no MPI: the one-process group

struct Group::Comm {};

Group::Group() {
  if (launched_size() > 1)
    throw std::runtime_error(fmt::format(
        "started by an MPI launcher as one of {} processes, but this build has no MPI support (meson -Dmpi; "
        "apt-get install libopenmpi-dev): each process would train on its own. Run it without mpirun",
        launched_size()));
}
Group::~Group() = default;
void Group::finalize() {}
void Group::broadcast(void*, int64_t, int) {}
std::vector<double> Group::sum(const std::vector<double>& x) { return x; }
std::vector<uint64_t> Group::gather(uint64_t x) { return {x}; }
void Group::barrier() {}
void Group::submit(int, void*, int64_t, bool) {}
void Group::wait(int) {}
ReduceStats Group::stats() const { return {}; }
void Group::reset_stats() {}
void Group::abort(int code, const std::string& why) {
  std::fprintf(stderr, "%s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

#endif

namespace {
std::atomic<Group*> g_started{nullptr};
}

Group& Group::world() {
  static Group g;
  g_started.store(&g);
  return g;
}

Group* Group::started() { return g_started.load(); }

namespace {
// A hash of `params`' names, shapes and dtypes, and with `values` their bytes too.
uint64_t hash_params(const ParamStore& params, bool values) {
  uint64_t h = rng::mix(params.size());
  for (const auto& [name, t] : params.all()) {
    h = rng::mix(h ^ rng::hash_name(name));
    for (int64_t d : t.shape()) h = rng::mix(h ^ uint64_t(d));
    h = rng::mix(h ^ uint64_t(t.dtype()));
    if (!values) continue;
    const auto* p = static_cast<const unsigned char*>(t.raw());
    const size_t bytes = size_t(t.nbytes());
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = rng::mix(h ^ w);
    }
    for (; i < bytes; ++i) h = rng::mix(h ^ p[i]);
  }
  return h;
}
} // namespace

uint64_t checksum(const ParamStore& params) { return hash_params(params, true); }

void check_replicas(Group& group, const ParamStore& params, const std::string& when) {
  if (!group.parallel()) return;
  const std::vector<uint64_t> all = group.gather(checksum(params));
  std::string differ;
  size_t first = 0;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) {
      differ += fmt::format("{}{}", differ.empty() ? "" : ", ", r);
      if (!first) first = r;
    }
  if (!differ.empty())
    throw std::runtime_error(fmt::format("data-parallel replicas differ {}: the parameters of rank(s) {} are not "
                                         "rank 0's (checksum {:016x} on rank {}, {:016x} on rank 0)",
                                         when, differ, all[first], first, all[0]));
}

void broadcast(Group& group, ParamStore& params) {
  if (!group.parallel()) return;
  // the same names, shapes and dtypes everywhere first (a hash of them)
  const std::vector<uint64_t> all = group.gather(hash_params(params, false));
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw std::runtime_error(fmt::format("data-parallel start: rank {} holds other parameters (names, shapes or "
                                           "dtypes) than rank 0 ({} tensors here)",
                                           r, params.size()));
  for (auto& [name, t] : params.all()) group.broadcast(t.raw(), t.nbytes());
}

} // namespace sg::dist
