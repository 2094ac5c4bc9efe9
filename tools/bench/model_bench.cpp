// seqgraph's side of the workloads of tools/bench/run that no model command
// covers: one LSTM layer trained on a fixed batch, and the matmul path on
// square float32 products. Prints one JSON line per measurement (the
// protocol of tools/bench/torch_models.py, the PyTorch side):
//
//   bench-models lstm-layer [--threads N] [--steps K] [--warmup W] [--batch B] [--seq T]
//   bench-models sgemm [--threads N] [--sizes 256,512,1024]
//   bench-models gemm
//   bench-models trigger-word [--threads N] [--steps K] [--warmup W] [--batches D]
//                             [--dropout R] [--data-dir DIR] [--dump DIR]
//
// lstm-layer: batch 64 (--batch), input 128, hidden 256, 50 steps (--seq), Keras initial
// weights (ops/layers.hpp); x ~ N(0, 1), y ~ U(-0.5, 0.5), fixed and seeded;
// one step = forward over the 50 steps, loss 0.5 * mean((h - y)^2) over every
// output, backward, SGD with lr 1.0. Figure: ms per step; GFLOP/s counts the
// matrix products (forward once, backward twice). The JSON line also gives the plan's
// compile time, nodes, dependency edges and arena size (the scaling mode of tools/bench/run).
//
// trigger-word: the model of models/trigger_word.cpp (its spec, the training
// defaults' dropout, or --dropout, and learning rate) in fit::Network's training plan at
// batch 16, on D (default 4) batches of synthesized examples (seed 0,
// examples 0 .. 16 D - 1, made before anything is timed) used in turn: W
// untimed steps, then K timed ones. Figure: the median seconds per step
// (examples/s = 16 / it); loss: the mean of the timed steps' losses (each
// before its update). --dump DIR writes what the PyTorch side needs to
// train the same model from the same start on the same batches: the
// initial parameters (DIR/params/<name with / as __>.npy), the batches
// (DIR/X<k>.npy, DIR/Y<k>.npy) and DIR/meta.json (lr, dropout, steps).
#include "autodiff/optimizers.hpp"
#include "graph/npy.hpp"
#include "models/trigger_word.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "ops/blas.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace sg;
using Clock = std::chrono::steady_clock;

namespace {

long max_rss_kb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}

Tensor seeded(Shape shape, uint64_t stream, bool normal) {
  Tensor t(shape, DType::f32);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i)
    p[i] = normal ? float(rng::normal(7, stream, uint64_t(i)))
                  : float(rng::uniform(7, stream, uint64_t(i)) - 0.5);
  return t;
}

double seconds_since(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

// The median time of `reps` runs of the plan.
double median_run_seconds(Plan& p, int reps) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    p.run();
    times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int lstm_layer(int threads, int steps, int warmup, int64_t B, int64_t T) {
  constexpr int64_t X = 128, H = 256;
  Graph g;
  Value x = input(g, "x", {T, B, X});
  Value y = input(g, "y", {T, B, H});
  LSTMWeights w = lstm_weights(g, "lstm", X, H);
  std::vector<Value> xs;
  for (int64_t t = 0; t < T; ++t) xs.push_back(take(x, 0, t));
  std::vector<Value> hs = lstm(xs, {}, w);
  Value loss;
  for (int64_t t = 0; t < T; ++t) {
    Value e = sum(square(hs[size_t(t)] - take(y, 0, t)));
    loss = loss ? loss + e : e;
  }
  loss = loss * (0.5 / double(T * B * H));
  TrainOps sgd = minimize(loss, all_params(g), SGD{.lr = 1.0});
  ParamStore ps;
  // the compile time without the parameters' initialization (an orthogonal
  // recurrent kernel is a QR decomposition): a first plan creates them
  { Plan init(g, ps, std::vector<Value>{loss}, sgd.updates, {.dtype = DType::f32, .seed = 1}); }
  const auto c0 = Clock::now();
  Plan p(g, ps, std::vector<Value>{loss}, sgd.updates, {.dtype = DType::f32, .seed = 1});
  const double compile_s = seconds_since(c0);
  p.feed("x", seeded({T, B, X}, 1, true));
  p.feed("y", seeded({T, B, H}, 2, false));
  for (int i = 0; i < warmup; ++i) p.run();
  const double s = median_run_seconds(p, steps);
  const double flops = 3.0 * 2.0 * double(T * B * (X + H) * 4 * H);
  std::printf("{\"impl\": \"seqgraph\", \"workload\": \"lstm-layer\", \"threads\": %d, "
              "\"figure\": %.4f, \"unit\": \"ms/step\", \"loss\": %.6g, \"gflops\": %.2f, "
              "\"steps\": %d, \"T\": %ld, \"B\": %ld, \"nodes\": %zu, \"edges\": %zu, \"compile_ms\": %.2f, "
              "\"arena_mb\": %.2f, \"max_rss_kb\": %ld}\n",
              threads, s * 1e3, p.fetch(loss).at(0), flops / s / 1e9, steps, long(T), long(B), p.stats().nodes,
              p.stats().edges, compile_s * 1e3, double(p.stats().arena_bytes) / (1 << 20), max_rss_kb());
  return 0;
}

int sgemm(int threads, const std::vector<int64_t>& sizes) {
  for (int64_t n : sizes) {
    Graph g;
    Value a = input(g, "a", {n, n}), b = input(g, "b", {n, n});
    Value c = matmul(a, b);
    ParamStore ps;
    Plan p(g, ps, std::vector<Value>{c}, {}, {.dtype = DType::f32});
    p.feed("a", seeded({n, n}, 3, true));
    p.feed("b", seeded({n, n}, 4, true));
    p.run();
    // enough repetitions for ~0.3 s
    auto a0 = Clock::now();
    p.run();
    const double once = std::max(seconds_since(a0), 1e-6);
    const double s = median_run_seconds(p, std::clamp(int(0.3 / once), 5, 2000));
    std::printf("{\"impl\": \"seqgraph\", \"workload\": \"sgemm\", \"threads\": %d, \"n\": %ld, "
                "\"figure\": %.2f, \"unit\": \"GFLOP/s\", \"loss\": null, \"max_rss_kb\": %ld}\n",
                threads, long(n), 2.0 * double(n) * double(n) * double(n) / s / 1e9, max_rss_kb());
  }
  return 0;
}

int trigger_word_bench(int threads, int steps, int warmup, int batches, double dropout, const std::string& data_dir,
                       const std::string& dump) {
  constexpr int64_t B = trigger_word::kBatch;
  auto raw = std::make_shared<const trigger::RawData>(trigger::load_raw_data(data_dir + "/trigger_word/raw_data"));
  const trigger_word::SynthSet set(raw, B * batches, 0);
  std::vector<fit::Feeds> feeds;
  for (int k = 0; k < batches; ++k) {
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < B; ++i) idx.push_back(k * B + i);
    feeds.push_back(set.batch(idx));
  }
  const fit::Spec spec = trigger_word::spec(dropout);
  ParamStore params;
  fit::Network net(spec, params, 0);
  auto t0 = Clock::now();
  const PlanStats stats = net.prepare(fit::Mode::train, feeds[0]);
  const double compile_s = seconds_since(t0);
  if (!dump.empty()) {
    std::filesystem::create_directories(std::filesystem::path(dump) / "params");
    for (const auto& [name, t] : params.all()) {
      std::string file = name;
      for (size_t at; (at = file.find('/')) != std::string::npos;) file.replace(at, 1, "__");
      save_npy((std::filesystem::path(dump) / "params" / (file + ".npy")).string(), t);
    }
    for (int k = 0; k < batches; ++k) {
      save_npy(fmt::format("{}/X{}.npy", dump, k), feeds[size_t(k)].at("X"));
      save_npy(fmt::format("{}/Y{}.npy", dump, k), feeds[size_t(k)].at("Y"));
    }
    std::FILE* f = std::fopen((dump + "/meta.json").c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + dump + "/meta.json");
    std::fprintf(f,
                 "{\"lr\": %.17g, \"halving_steps\": %ld, \"dropout\": %.17g, \"batches\": %d, \"warmup\": %d, "
                 "\"steps\": %d}\n",
                 trigger_word::kLr, long(trigger_word::kHalvingSteps), dropout, batches, warmup, steps);
    std::fclose(f);
  }
  for (int i = 0; i < warmup; ++i) net.train_step(feeds[size_t(i % batches)]);
  std::vector<double> times;
  double loss = 0;
  for (int i = 0; i < steps; ++i) {
    t0 = Clock::now();
    loss += net.train_step(feeds[size_t((warmup + i) % batches)]).loss;
    times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  const double s = times[times.size() / 2];
  std::printf("{\"impl\": \"seqgraph\", \"workload\": \"trigger-word\", \"threads\": %d, "
              "\"figure\": %.4f, \"unit\": \"s/step\", \"loss\": %.6g, \"examples_per_s\": %.2f, "
              "\"steps\": %d, \"warmup\": %d, \"compile_s\": %.2f, \"nodes\": %zu, \"arena_mb\": %.1f, "
              "\"max_rss_kb\": %ld}\n",
              threads, s, loss / steps, double(B) / s, steps, warmup, compile_s, stats.nodes,
              double(stats.arena_bytes) / (1 << 20), max_rss_kb());
  return 0;
}

// The libraries against each other on the models' float products, one
// call at a time at one thread (the ratios behind ops/blas.cpp's choice by
// size): a Markdown table, the best of 3 timings of as many calls as take
// ~0.1 s each.
struct Product {
  const char* where;
  bool ta, tb;
  int64_t m, n, k;
};
int gemm_table() {
  const Product ps[] = {
      {"dinosaurus: W x (one column)", false, false, 50, 1, 50},
      {"emojify-v2: gates of a step", false, false, 32, 512, 128},
      {"emojify-v2: d h = d z U^T", false, true, 32, 128, 512},
      {"nmt: gates of a step", false, false, 100, 256, 64},
      {"nmt: d h = d z U^T", false, true, 100, 64, 256},
      {"nmt: attention scores", false, false, 3000, 10, 64},
      {"lstm-layer: gates of a step", false, false, 64, 1024, 256},
      {"lstm-layer: d U = h^T d z", true, false, 256, 1024, 64},
      {"lstm-layer: x W, all steps", false, false, 3200, 1024, 128},
      {"trigger-word: a GRU step", false, false, 16, 384, 128},
      {"trigger-word: d h of a GRU step", false, true, 16, 128, 384},
      {"trigger-word: d h, on U^T's copy", false, false, 16, 128, 384},
      {"trigger-word: x W, all steps", false, false, 22000, 384, 196},
      {"trigger-word: d W = x^T d z", true, false, 196, 384, 22000},
      {"trigger-word: conv taps (one example)", false, false, 1375, 196, 404},
      {"square 1024", false, false, 1024, 1024, 1024},
  };
  std::printf("| product | m x n x k | OpenBLAS GFLOP/s | oneDNN GFLOP/s | libxsmm GFLOP/s | oneDNN / OpenBLAS |\n"
              "|---|---|---|---|---|---|\n");
  for (const Product& p : ps) {
    const int64_t ar = p.ta ? p.k : p.m, ac = p.ta ? p.m : p.k, br = p.tb ? p.n : p.k, bc = p.tb ? p.k : p.n;
    Tensor a = seeded({ar, ac}, 1, true), b = seeded({br, bc}, 2, true), c({p.m, p.n}, DType::f32);
    const double flop = 2.0 * double(p.m) * double(p.n) * double(p.k);
    const int calls = std::max(1, int(1e10 / flop)); // ~0.1 s at 100 GFLOP/s
    auto rate = [&](blas::Library lib) {
      auto once = [&] {
        return blas::gemm_with(lib, p.ta, p.tb, p.m, p.n, p.k, a.data<float>(), ac, b.data<float>(), bc,
                               c.data<float>(), p.n);
      };
      if (!once()) return 0.0;
      double best = 1e30;
      for (int r = 0; r < 3; ++r) {
        const auto t0 = Clock::now();
        for (int i = 0; i < calls; ++i) once();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / calls);
      }
      return flop / best / 1e9;
    };
    const double ob = rate(blas::Library::openblas), dn = rate(blas::Library::dnnl), xs = rate(blas::Library::xsmm);
    auto cell = [](double v) { return v > 0 ? fmt::format("{:.1f}", v) : std::string("-"); };
    std::printf("| %s | %ldx%ldx%ld%s | %s | %s | %s | %s |\n", p.where, long(p.m), long(p.n), long(p.k),
                p.ta ? " (A^T)" : p.tb ? " (B^T)" : "", cell(ob).c_str(), cell(dn).c_str(), cell(xs).c_str(),
                dn > 0 ? fmt::format("{:.2f}x", dn / ob).c_str() : "-");
  }
  std::printf("\nthis process: %s\n", blas::gemm_path());
  return 0;
}

int usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: bench-models lstm-layer [--threads N] [--steps K] [--warmup W] [--batch B] [--seq T]\n"
               "       bench-models sgemm [--threads N] [--sizes 256,512,1024]\n"
               "       bench-models gemm        (OpenBLAS, oneDNN and libxsmm on the models' products)\n"
               "       bench-models trigger-word [--threads N] [--steps K] [--warmup W] [--batches D]\n"
               "                                 [--dropout R] [--data-dir DIR] [--dump DIR]\n");
  return code;
}

int64_t integer(const char* opt, const char* v, int64_t least) {
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (end == v || *end || n < least)
    throw std::invalid_argument(fmt::format("{} wants an integer >= {}, got '{}'", opt, least, v));
  return n;
}
int64_t positive(const char* opt, const char* v) { return integer(opt, v, 1); }

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(2);
  const std::string what = argv[1];
  if (what == "-h" || what == "--help") return usage(0);
  int threads = 1, steps = 20, warmup = 3, batches = 4;
  int64_t batch = 64, seq = 50;
  bool steps_given = false, warmup_given = false;
  double dropout = trigger_word::kDropout;
  std::string data_dir = SEQGRAPH_DATA_DIR, dump;
  std::vector<int64_t> sizes{256, 512, 1024};
  try {
    for (int i = 2; i < argc; ++i) {
      const std::string o = argv[i];
      if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", o));
      const char* v = argv[++i];
      if (o == "--threads") threads = int(positive("--threads", v));
      else if (o == "--steps") steps = int(positive("--steps", v)), steps_given = true;
      else if (o == "--warmup") warmup = int(integer("--warmup", v, 0)), warmup_given = true;
      else if (o == "--batches") batches = int(positive("--batches", v));
      else if (o == "--batch") batch = positive("--batch", v);
      else if (o == "--seq") seq = positive("--seq", v);
      else if (o == "--data-dir") data_dir = v;
      else if (o == "--dropout") {
        char* end = nullptr;
        dropout = std::strtod(v, &end);
        if (end == v || *end || !(dropout >= 0 && dropout < 1))
          throw std::invalid_argument(fmt::format("--dropout wants a number in [0, 1), got '{}'", v));
      }
      else if (o == "--dump") dump = v;
      else if (o == "--sizes") {
        sizes.clear();
        std::string s = v;
        for (size_t at = 0; at <= s.size();) {
          const size_t comma = std::min(s.find(',', at), s.size());
          sizes.push_back(positive("--sizes", s.substr(at, comma - at).c_str()));
          at = comma + 1;
        }
      } else throw std::invalid_argument(fmt::format("unknown option '{}'", o));
    }
    set_threads(threads);
    if (what == "lstm-layer") return lstm_layer(threads, steps, warmup, batch, seq);
    if (what == "sgemm") return sgemm(threads, sizes);
    if (what == "gemm") return gemm_table();
    if (what == "trigger-word")
      return trigger_word_bench(threads, steps_given ? steps : 5, warmup_given ? warmup : 1, batches, dropout,
                                data_dir, dump);
    std::fprintf(stderr, "bench-models: unknown workload '%s'\n", what.c_str());
    return usage(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-models: %s\n", e.what());
    return 1;
  }
}
