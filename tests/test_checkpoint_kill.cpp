// Crash-safe checkpoints as kill -9 meets them. A child process (forked by
// a fork server, this test binary again: see below) trains a small model
// and saves its checkpoint after every epoch, continuing the checkpoint it
// finds; the test SIGKILLs it at random moments (seeded): half of them
// anywhere in the next two epochs, half within 1.5 times a save's measured
// duration from the start of a save, so that many land while a save is
// writing. After every kill:
//
//  - the checkpoint on disk loads, and is bit for bit the checkpoint an
//    uninterrupted run writes after the epoch before the save the child had
//    begun, or after that save's epoch: the previous one or the new one
//    (the child tells the test when it begins a save and, at the next
//    batch, that the save is done);
//  - a temporary file the kill left behind (a kill mid-write) is ignored by
//    loading, and removed when the next run starts;
//  - the next child resumes from it, so every later checkpoint being the
//    uninterrupted run's, bit for bit, shows that each resume from a killed
//    run's checkpoint repeats the uninterrupted run exactly (for every
//    kill); on every 20th kill the test also resumes a copy in-process to
//    the end and compares the final checkpoint with the uninterrupted run's.
//
// One float64 model (a regression) and one float32 model with Dropout (its
// masks depend on the plans' run counters, saved in the checkpoint), 110
// kills each. The checkpoints go to the system's temporary directory, a disk
// file system: a save's fsync takes 1 ms on a quiet disk, 10 or more on a
// busy one, and the test's time (1 to 6 s) with it.
#include "graph/checkpoint.hpp"
#include "models/train/fit.hpp"
#include "ops/keras.hpp"
#include "ops/ops.hpp"
#include "tests/child.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fcntl.h>
#include <fmt/format.h>
#include <random>
#include <spawn.h>
#include <sys/file.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

using namespace sg;
using namespace sg::test;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kSeed = 11;
constexpr int64_t kEpochs = 8;
constexpr int kKillsPerModel = 110;
constexpr int kResumeEvery = 20; // an in-process resume of a copy, to the end, every this many kills

// float64: y = sin(x0) x1, 48 examples (3 batches of 16)
struct Wave : fit::Dataset {
  int64_t size() const override { return 48; }
  uint64_t fingerprint() const override { return 48; }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const int64_t B = int64_t(idx.size());
    Tensor x({B, 2}, DType::f64), y({B, 1}, DType::f64);
    for (int64_t b = 0; b < B; ++b) {
      const double i = double(idx[size_t(b)]), x0 = std::sin(0.7 * i), x1 = std::cos(1.3 * i);
      x.set(2 * b, x0);
      x.set(2 * b + 1, x1);
      y.set(b, std::sin(x0) * x1);
    }
    return {{"x", x}, {"y", y}};
  }
};

// float32: 3 classes of 4 features, 60 examples (3 batches of 20)
struct Blobs : fit::Dataset {
  int64_t size() const override { return 60; }
  uint64_t fingerprint() const override { return 60; }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const int64_t B = int64_t(idx.size());
    Tensor x({B, 4}, DType::f32), y({B, 3}, DType::f32);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t i = idx[size_t(b)], c = i % 3;
      for (int64_t j = 0; j < 4; ++j) x.set(4 * b + j, std::cos(0.37 * double(i * (j + 1))) + (j == c ? 1.5 : 0.0));
      y.set(3 * b + c, 1.0);
    }
    return {{"x", x}, {"y", y}};
  }
};

const fit::Spec& regression() {
  static const fit::Spec s{
      .name = "kill64",
      .dtype = DType::f64,
      .inputs = {{"x", {fit::batch, fit::dim(2)}}},
      .targets = {{"y", {fit::batch, fit::dim(1)}}},
      .build =
          [](fit::Net& n) {
            Value y = layers::Dense(1)(layers::Dense(16, {.activation = "tanh"})(n.in("x")));
            n.outputs["y"] = y;
            if (n.mode == fit::Mode::predict) return;
            Value d = y - n.in("y");
            n.loss = mean(d * d);
          },
      .optimizer = fit::adam({.lr = 0.02}),
  };
  return s;
}

const fit::Spec& classifier() {
  static const fit::Spec s{
      .name = "kill32",
      .dtype = DType::f32,
      .inputs = {{"x", {fit::batch, fit::dim(4)}}},
      .targets = {{"y", {fit::batch, fit::dim(3)}}},
      .build =
          [](fit::Net& n) {
            Value h = layers::Dropout(0.3)(layers::Dense(16, {.activation = "relu"})(n.in("x")));
            Value logits = layers::Dense(3)(h);
            n.outputs["logits"] = logits;
            if (n.mode == fit::Mode::predict) return;
            n.loss = mean(softmax_cross_entropy(logits, n.in("y")));
          },
      .optimizer = fit::adam({.lr = 0.01}),
  };
  return s;
}

struct Case {
  const fit::Spec& spec;
  const fit::Dataset& data;
  int64_t batch;
};

const Case& case_of(const std::string& name) {
  static const Wave wave;
  static const Blobs blobs;
  static const Case f64{regression(), wave, 16}, f32{classifier(), blobs, 20};
  if (name == "kill64") return f64;
  if (name == "kill32") return f32;
  throw std::invalid_argument("no case " + name);
}

// `data`, calling before() before each batch.
struct Watched : fit::Dataset {
  const fit::Dataset& data;
  std::function<void()> before;
  Watched(const fit::Dataset& d, std::function<void()> f) : data(d), before(std::move(f)) {}
  int64_t size() const override { return data.size(); }
  uint64_t fingerprint() const override { return data.fingerprint(); }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    before();
    return data.batch(idx);
  }
};

// Trains `c` to kEpochs epochs, checkpoint `ck` after every one (every
// `save_every`; 0: at the end only), continuing it if `resume`:
// started(first epoch) once the Trainer stands (a resumed checkpoint read,
// stray temporary files removed); saving(k) before the checkpoint of k
// epochs is written; saved(k) once it is (at the next batch, or when the
// run ends).
void train_run(const Case& c, const std::string& ck, bool resume, const std::function<void(int64_t)>& started,
               const std::function<void(int64_t)>& saving, const std::function<void(int64_t)>& saved,
               int64_t save_every = 1) {
  ParamStore params;
  train::Trainer tr({.model = c.spec.name, .unit = "epoch", .steps = kEpochs, .save_every = save_every, .checkpoint = ck,
                     .resume = resume, .quiet = true, .seed = kSeed, .metrics = fit::fit_columns(c.spec, false),
                     .part = "batch", .out = train::no_output()},
                    params);
  started(tr.first_step());
  int64_t pending = -1;
  tr.on_save([&](train::LoopState& s) {
    pending = s.step;
    saving(s.step);
  });
  fit::Network net(c.spec, params, kSeed);
  const Watched data(c.data, [&] {
    if (pending >= 0) saved(pending), pending = -1;
  });
  fit::fit(net, data, tr, kSeed, {.batch_size = c.batch});
  if (pending >= 0) saved(pending);
}

// The child processes come from a fork server: this test binary again
// (tests/child.hpp), which never starts oneTBB's threads itself, so that a
// fork() of it is safe (a fork of the test process is not: it would inherit
// oneTBB's pool without its worker threads) and costs a millisecond instead
// of an exec's 20. On "run <model> <ckpt>" it forks a child that trains
// (train_run, continuing the checkpoint if there is one) and says what it
// does on fd 3; the server says the child's pid there, waits for "reap",
// then reaps it (so that its pid stays reserved until the test's kill is
// sent) and says how it ended. 8-byte records, written whole (< PIPE_BUF).
enum Kind : int32_t { kPid = 1, kStarted = 2, kSaving = 3, kSaved = 4, kEnd = 5 };
struct Event {
  int32_t kind = 0, k = 0;
};

void say(Kind kind, int64_t k) {
  const Event e{kind, int32_t(k)};
  if (::write(3, &e, sizeof e) != sizeof e) std::_Exit(3);
}

std::string read_line(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

int fork_server(const std::vector<std::string>&) {
  for (std::string line; !(line = read_line(0)).empty();) {
    std::istringstream in(line);
    std::string verb, model, ck;
    in >> verb >> model >> ck;
    if (verb != "run") return 2;
    const pid_t pid = ::fork();
    if (pid < 0) return 3;
    if (pid == 0) {
      ::close(0);
      set_threads(1);
      train_run(case_of(model), ck, fs::exists(ck), [](int64_t k) { say(kStarted, k); },
                [](int64_t k) { say(kSaving, k); }, [](int64_t k) { say(kSaved, k); });
      std::_Exit(0);
    }
    say(kPid, pid);
    if (read_line(0) != "reap") return 4;
    int status = 0;
    ::waitpid(pid, &status, 0);
    say(kEnd, status);
  }
  return 0;
}
const ChildRegistrar server("checkpoint-kill-server", fork_server);

struct Server {
  pid_t pid = 0;
  int control = -1, events = -1;

  explicit Server(const std::string& log) {
    int ctl[2], ev[2];
    REQUIRE(::pipe2(ctl, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(ev, O_CLOEXEC) == 0);
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    std::vector<std::string> argv_s{self, "--child", "checkpoint-kill-server"};
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, ctl[0], 0); // (dup2 clears close-on-exec)
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_adddup2(&fa, ev[1], 3);
    const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(ctl[0]);
    ::close(ev[1]);
    control = ctl[1];
    events = ev[0];
    REQUIRE(rc == 0);
  }
  ~Server() {
    ::close(control); // EOF: the server ends
    ::close(events);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  void send(const std::string& line) const {
    const std::string l = line + "\n";
    REQUIRE(::write(control, l.data(), l.size()) == ssize_t(l.size()));
  }
  Event next() const {
    Event e;
    size_t got = 0;
    while (got < sizeof e) {
      const ssize_t r = ::read(events, reinterpret_cast<char*>(&e) + got, sizeof e - got);
      if (r < 0 && errno == EINTR) continue;
      REQUIRE(r > 0); // the server died
      got += size_t(r);
    }
    return e;
  }
};

// The temporary files of saves of `ck` in its directory.
std::vector<std::string> temps_of(const std::string& ck) {
  std::vector<std::string> r;
  const std::string prefix = fs::path(ck).filename().string() + ".tmp";
  for (const auto& e : fs::directory_iterator(fs::path(ck).parent_path()))
    if (const std::string f = e.path().filename().string(); f == prefix || f.starts_with(prefix + "-"))
      r.push_back(e.path().string());
  return r;
}

struct Tally {
  int kills = 0, in_save = 0, mid_write = 0, new_one = 0, finished = 0, resumes = 0;
};

// Waits `us` microseconds, precisely for short waits (a sleep takes 50 us or more).
void wait_us(double us) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(us);
  if (us > 300) std::this_thread::sleep_for(std::chrono::duration<double, std::micro>(us - 200));
  while (std::chrono::steady_clock::now() < until) {}
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void kill_test(const std::string& model, std::mt19937_64& rng, Tally& t) {
  const Case& c = case_of(model);
  TempDir dir; // (the system's temporary directory: a disk file system, fsync and all)
  // The uninterrupted run: its checkpoint after every epoch, and how long an epoch and a save take.
  std::map<int64_t, std::string> ref;
  const std::string ref_ck = dir / "ref.ckpt";
  const auto t0 = std::chrono::steady_clock::now();
  train_run(c, ref_ck, false, [](int64_t) {}, [](int64_t) {}, [&](int64_t k) { ref[k] = read_file(ref_ck); });
  const double epoch_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / double(kEpochs);
  REQUIRE(ref.size() == size_t(kEpochs));
  const std::string final_ref = ref.at(kEpochs);
  std::vector<double> saves;
  const Checkpoint last = load_checkpoint(ref_ck);
  for (int i = 0; i < 7; ++i) {
    const auto s0 = std::chrono::steady_clock::now();
    save_checkpoint(dir / "timing.ckpt", last.model, last.params, last.meta);
    saves.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s0).count());
  }
  const double save_us = median(saves);

  const std::string ck = dir / "run.ckpt", log = dir / "child.log";
  const Server server(log);
  // Half the kills at a moment of the next two epochs, half within 1.5 saves' time of the start of a save.
  std::uniform_real_distribution<double> anywhere(0, 2 * epoch_us), in_save(0, 1.5 * save_us);
  std::bernoulli_distribution at_a_save(0.5);
  std::vector<std::string> strays; // left by the last kill, to be gone once the next child stands
  int kills = 0;
  while (kills < kKillsPerModel) {
    server.send(fmt::format("run {} {}", model, ck));
    // What it says: its pid (from the server, at any point before the
    // kill), the checkpoint it starts from, the saves it begins and ends.
    pid_t pid = 0;
    bool started = false, saving = false;
    int64_t lo = 0, hi = 0; // the steps the checkpoint on disk may hold
    int status = -1;
    auto take = [&](const Event& e) {
      if (e.kind == kPid) pid = e.k;
      else if (e.kind == kEnd) status = e.k;
      else {
        started = true;
        saving = e.kind == kSaving;
        lo = saving ? e.k - 1 : e.k;
        hi = e.k;
      }
    };
    while (pid == 0 || !started) take(server.next());
    for (const std::string& s : strays) {
      INFO("a stray temporary file of a killed save: ", s);
      CHECK_FALSE(fs::exists(s));
    }
    if (at_a_save(rng)) {
      while (!saving && status < 0) take(server.next());
      wait_us(in_save(rng));
    } else {
      wait_us(anywhere(rng));
    }
    ::kill(pid, SIGKILL); // (if it has finished, a zombie: the server reaps it only now)
    server.send("reap");
    while (status < 0) take(server.next());
    INFO(model, ", kill ", kills + 1, ": the child was ", saving ? "saving epoch " : "past its save of epoch ", hi);
    INFO(read_file(log));
    if (WIFEXITED(status)) { // it finished before the kill came
      REQUIRE(WEXITSTATUS(status) == 0);
      CHECK(read_file(ck) == final_ref);
      ++t.finished;
      fs::remove(ck);
      strays.clear();
      continue;
    }
    REQUIRE(WIFSIGNALED(status));
    ++kills;
    t.in_save += saving;
    strays = temps_of(ck);
    t.mid_write += !strays.empty();
    // the previous checkpoint or the new one, complete and bitwise the uninterrupted run's
    int64_t step = 0; // none yet
    if (fs::exists(ck)) {
      const Checkpoint got = load_checkpoint(ck, model);
      step = std::stoll(got.meta.at("step"));
      REQUIRE(ref.count(step));
      CHECK(read_file(ck) == ref.at(step));
    }
    CHECK(step >= lo);
    CHECK(step <= hi);
    t.new_one += saving && step == hi;
    if (kills % kResumeEvery == 0 && step > 0) { // --resume from it, to the end
      const std::string copy = dir / "copy.ckpt";
      fs::copy_file(ck, copy, fs::copy_options::overwrite_existing);
      train_run(c, copy, true, [](int64_t) {}, [](int64_t) {}, [](int64_t) {}, 0); // (saving at the end only)
      CHECK(read_file(copy) == final_ref);
      ++t.resumes;
    }
    if (step == kEpochs) fs::remove(ck), strays.clear(); // done: start over
  }
  t.kills += kills;
  MESSAGE(fmt::format("{}: epoch + save {:.0f} us, a save {:.0f} us", model, epoch_us, save_us));
}

} // namespace

TEST_CASE("Checkpoint.KilledMidSaveLeavesThePreviousOrTheNewOneAndResumesBitwise") {
  std::mt19937_64 rng(20261201);
  Tally t;
  kill_test("kill64", rng, t);
  kill_test("kill32", rng, t);
  MESSAGE(fmt::format("{} kills: {} while a save was under way ({} mid-write: a temporary file left, {} after "
                      "the rename: the new one), {} runs finished before the kill, {} in-process resumes",
                      t.kills, t.in_save, t.mid_write, t.new_one, t.finished, t.resumes));
  CHECK(t.kills >= 200);
  CHECK(t.mid_write >= 10); // (about half of them here)
}

TEST_CASE("Checkpoint.StrayTemporaryFilesAreIgnoredAndRemoved") {
  TempDir dir;
  const std::string ck = dir / "m.ckpt";
  ParamStore ps;
  ps.set("w", Tensor::from({2}, {1.0, 2.0}, DType::f64));
  save_checkpoint(ck, "m", ps);
  const std::string good = read_file(ck);
  CHECK(temps_of(ck).empty());
  // Left by killed saves: an old-style name, a dead writer's, a half-written one.
  const std::string legacy = ck + ".tmp", dead = ck + ".tmp-999999999-0", other = dir / "m.ckpt.tmpfile";
  for (const std::string& f : {legacy, dead, other}) {
    std::ofstream out(f, std::ios::binary);
    out << good.substr(0, 20);
  }
  CHECK(load_checkpoint(ck, "m").params.at("w").at(1) == 2.0); // loading reads none of them
  CHECK(read_file(ck) == good);
  CHECK(remove_stray_temps(ck) == 2);
  CHECK_FALSE(fs::exists(legacy));
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(other)); // not a temporary file's name
  // A live save's temporary file (its lock held) is left alone.
  const std::string live = ck + ".tmp-1-7";
  const int fd = ::open(live.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  CHECK(remove_stray_temps(ck) == 0);
  CHECK(fs::exists(live));
  ::close(fd); // its writer is gone
  {
    std::ofstream out(dead, std::ios::binary);
    out << "x";
  }
  save_checkpoint(ck, "m", ps); // a save removes them too
  CHECK_FALSE(fs::exists(live));
  CHECK_FALSE(fs::exists(dead));
  CHECK(read_file(ck) == good);
  CHECK(temps_of(ck).empty());
  // A training run's start removes them (not only its first save, which may be hours away).
  {
    std::ofstream out(dead, std::ios::binary);
    out << "x";
  }
  ParamStore params;
  train::Trainer tr({.model = "m", .steps = 1, .checkpoint = ck, .quiet = true, .out = train::no_output()}, params);
  CHECK_FALSE(fs::exists(dead));
}

TEST_CASE("Checkpoint.ConcurrentSavesOfOnePathEachWriteTheirOwnFile") {
  // Threads stand in for processes: each save has its own temporary file
  // (pid and a counter in its name), so whichever rename comes last, the
  // checkpoint is one complete checkpoint of one of the savers.
  TempDir dir;
  const std::string ck = dir / "shared.ckpt";
  std::vector<std::string> expect;
  std::vector<ParamStore> stores(4);
  for (int i = 0; i < 4; ++i) {
    stores[size_t(i)].set("w", Tensor::from({1000}, std::vector<double>(1000, double(i)), DType::f64));
    const std::string one = dir / fmt::format("one{}.ckpt", i);
    save_checkpoint(one, "m", stores[size_t(i)]);
    expect.push_back(read_file(one));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) save_checkpoint(ck, "m", stores[size_t(i)]);
    });
  for (auto& t : threads) t.join();
  const std::string got = read_file(ck);
  CHECK(std::find(expect.begin(), expect.end(), got) != expect.end());
  CHECK(temps_of(ck).empty());
}
