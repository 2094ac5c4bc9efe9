// Host tensors (construction, dtype conversion, indexing, errors) and the
// parameter initializers and store.
#include "graph/params.hpp"
#include "graph/tensor.hpp"

#include <cmath>

#include <doctest/doctest.h>

using namespace sg;

TEST_CASE("Tensor.ConstructionAndIndexing") {
  Tensor t = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}, DType::f32);
  CHECK(t.size() == 6);
  CHECK(t.rank() == 2);
  CHECK(t.nbytes() == 24);
  CHECK(t({1, 2}) == 6.0);
  CHECK(t({0, 1}) == 2.0);
  CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
  CHECK_THROWS_AS(t({2, 0}), std::out_of_range);
  CHECK_THROWS_AS(t({0}), std::invalid_argument);
  CHECK_THROWS_AS(t.data<double>(), std::logic_error);
  CHECK_THROWS_AS(Tensor::from({2, 2}, {1, 2, 3}), std::invalid_argument);
  CHECK_THROWS_AS(Tensor({2, -1}), std::invalid_argument);
  Tensor z({3, 0});
  CHECK(z.size() == 0);
  CHECK(to_string(Shape{3}) == "(3,)");
  CHECK(to_string(Shape{}) == "()");
  CHECK(to_string(Shape{2, 3}) == "(2, 3)");
}

TEST_CASE("Tensor.ConversionCopyReshape") {
  Tensor d = Tensor::from({3}, {0.1, -2.5, 1e-3}, DType::f64);
  Tensor f = d.to(DType::f32);
  CHECK(f.dtype() == DType::f32);
  CHECK(f.at(0) == doctest::Approx(0.1).epsilon(1e-7));
  CHECK(f.data<float>()[1] == -2.5f);
  Tensor c = d;
  c.set(0, 7);
  CHECK(d.at(0) == 0.1); // deep copy
  Tensor r = d.reshaped({3, 1});
  CHECK(r.shape() == Shape{3, 1});
  CHECK(r.at(2) == 1e-3);
  CHECK_THROWS_AS(d.reshaped({2}), std::invalid_argument);
  CHECK(max_abs_diff(d, d.to(DType::f32).to(DType::f64)) < 1e-7);
}

TEST_CASE("Params.Initializers") {
  // Glorot uniform: within +-sqrt(6 / (fan_in + fan_out)), mean ~ 0.
  Tensor g = Initializer::glorot_uniform().make({100, 50}, DType::f64, 1, "W");
  double limit = std::sqrt(6.0 / 150), mean = 0, maxabs = 0;
  for (int64_t i = 0; i < g.size(); ++i) {
    mean += g.at(i) / double(g.size());
    maxabs = std::max(maxabs, std::abs(g.at(i)));
  }
  CHECK(maxabs <= limit);
  CHECK(maxabs > 0.95 * limit);
  CHECK(std::abs(mean) < 0.01);
  // Seeded normal: the course's randn * 0.01.
  Tensor n = Initializer::normal(0, 0.01).make({200, 100}, DType::f64, 7, "Wax");
  double m = 0, v = 0;
  for (int64_t i = 0; i < n.size(); ++i) m += n.at(i) / double(n.size());
  for (int64_t i = 0; i < n.size(); ++i) v += (n.at(i) - m) * (n.at(i) - m) / double(n.size());
  CHECK(std::abs(m) < 3e-4);
  CHECK(std::sqrt(v) == doctest::Approx(0.01).epsilon(0.02));
  // Same (seed, name): same values; another name or seed: different.
  CHECK(max_abs_diff(n, Initializer::normal(0, 0.01).make({200, 100}, DType::f64, 7, "Wax")) == 0);
  CHECK(max_abs_diff(n, Initializer::normal(0, 0.01).make({200, 100}, DType::f64, 7, "Waa")) > 0);
  CHECK(max_abs_diff(n, Initializer::normal(0, 0.01).make({200, 100}, DType::f64, 8, "Wax")) > 0);
  // Orthogonal: Q Q^T = I for a wide matrix, Q^T Q = I for a tall one.
  for (Shape s : {Shape{4, 9}, Shape{9, 4}}) {
    Tensor q = Initializer::orthogonal().make(s, DType::f64, 3, "U");
    int64_t r = s[0], c = s[1], k = std::min(r, c);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        double d = 0;
        for (int64_t t = 0; t < std::max(r, c); ++t)
          d += r < c ? q({i, t}) * q({j, t}) : q({t, i}) * q({t, j});
        CHECK(d == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-12).scale(1));
      }
  }
  Tensor b = Initializer::unit_forget_bias().make({8}, DType::f32, 0, "bias");
  CHECK(b.values() == std::vector<double>{0, 0, 1, 1, 0, 0, 0, 0});
  CHECK_THROWS_AS(Initializer::unit_forget_bias().make({6}, DType::f32, 0, "bias"), std::invalid_argument);
  CHECK_THROWS_AS(Initializer::orthogonal().make({6}, DType::f32, 0, "v"), std::invalid_argument);
}

TEST_CASE("Params.Store") {
  ParamStore ps;
  Tensor& w = ps.ensure("w", {2, 3}, DType::f32, Initializer::ones(), 0);
  CHECK(w.values() == std::vector<double>(6, 1.0));
  w.set(0, 5);
  CHECK(ps.ensure("w", {2, 3}, DType::f32, Initializer::zeros(), 0).at(0) == 5); // kept
  CHECK_THROWS_WITH_AS(ps.ensure("w", {3, 2}, DType::f32, Initializer::zeros(), 0),
                       doctest::Contains("declares float32 (3, 2)"), std::invalid_argument);
  CHECK_THROWS_AS(ps.at("missing"), std::out_of_range);
  CHECK(ps.count() == 6);
}
