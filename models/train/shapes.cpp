#include "models/train/shapes.hpp"

#include "autodiff/autodiff.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

namespace sg::fit {

std::string Dim::text() const {
  return symbols.empty() ? std::to_string(size) : fmt::format("{}", fmt::join(symbols, " + "));
}

Dim operator+(const Dim& a, const Dim& b) {
  if (a.symbols.empty() || b.symbols.empty())
    throw std::logic_error(fmt::format("fit::Dim: {} + {}: only symbolic sizes add", a.text(), b.text()));
  Dim s = a;
  s.symbols.insert(s.symbols.end(), b.symbols.begin(), b.symbols.end());
  return s;
}

Shape shape_of(const InputDecl& d, const Sizes& sizes) {
  Shape s;
  for (const Dim& dim : d.shape) {
    int64_t n = dim.symbols.empty() ? dim.size : 0;
    for (auto& symbol : dim.symbols) {
      auto it = sizes.find(symbol);
      if (it == sizes.end()) throw std::invalid_argument(fmt::format("no size '{}' for input '{}'", symbol, d.name));
      n += it->second;
    }
    s.push_back(n);
  }
  return s;
}

std::string symbolic(const InputDecl& d) {
  std::vector<std::string> axes;
  for (const Dim& dim : d.shape) axes.push_back(dim.text());
  return fmt::format("({})", fmt::join(axes, ", "));
}

std::string Bound::says(const std::string& symbol, const std::string& asker) const {
  auto it = source.find(symbol);
  const int64_t v = sizes.at(symbol);
  if (it == source.end()) return fmt::format("{} = {} by default", symbol, v);
  if (it->second.input == asker) return fmt::format("its axis {} says {} = {}", it->second.axis, symbol, v);
  return fmt::format("{} says {} = {}", it->second.input, symbol, v);
}

const InputDecl& Signature::decl(const std::string& input) const {
  for (const InputDecl& d : inputs)
    if (d.name == input) return d;
  throw std::logic_error(fmt::format("{}: no input '{}' is declared", model, input));
}

Bound Signature::bind(const std::vector<std::string>& names, const Feeds& given) const {
  Bound b;
  auto bind = [&](const std::string& symbol, int64_t v, const std::string& input, size_t axis) {
    if (b.source.count(symbol)) return false;
    b.sizes[symbol] = v;
    b.source[symbol] = {input, axis};
    return true;
  };
  // The given inputs of the declared rank, in `names` order.
  std::vector<std::pair<const InputDecl*, const Shape*>> shown;
  for (auto& name : names) {
    const InputDecl& d = decl(name);
    auto it = given.find(name);
    if (it != given.end() && it->second.rank() == int(d.shape.size())) shown.emplace_back(&d, &it->second.shape());
  }
  // Axes of one symbol; then sum axes with one symbol unbound, until none binds.
  for (auto& [d, shape] : shown)
    for (size_t k = 0; k < d->shape.size(); ++k)
      if (d->shape[k].symbols.size() == 1) bind(d->shape[k].symbols[0], (*shape)[k], d->name, k);
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& [d, shape] : shown)
      for (size_t k = 0; k < d->shape.size(); ++k) {
        std::vector<std::string> unbound;
        int64_t rest = (*shape)[k];
        for (auto& symbol : d->shape[k].symbols)
          if (b.source.count(symbol)) rest -= b.sizes[symbol];
          else unbound.push_back(symbol);
        if (unbound.size() == 1 && rest > 0) progress |= bind(unbound[0], rest, d->name, k);
      }
  }
  // The defaults; every symbol of the graph must have a size.
  for (auto& name : names)
    for (const Dim& dim : decl(name).shape)
      for (auto& symbol : dim.symbols) {
        if (b.sizes.count(symbol)) continue;
        auto it = defaults.find(symbol);
        if (it == defaults.end())
          throw ShapeError(fmt::format("{}: no given input shows {} (the size of an axis of {} {})", model, symbol,
                                       name, symbolic(decl(name))));
        b.sizes[symbol] = it->second;
      }
  for (auto& [symbol, v] : b.sizes)
    if (v < 1)
      throw ShapeError(fmt::format("{}: {}: every dimension must be at least 1", model, b.says(symbol)));
  for (auto& name : names) {
    auto it = given.find(name);
    if (it == given.end()) continue;
    const InputDecl& d = decl(name);
    const Shape want = shape_of(d, b.sizes), have = it->second.shape();
    if (have == want) continue;
    std::string why = "it must have rank " + std::to_string(d.shape.size());
    for (size_t k = 0; have.size() == want.size() && k < want.size(); ++k) {
      if (have[k] == want[k]) continue;
      std::vector<std::string> says;
      for (auto& symbol : d.shape[k].symbols) says.push_back(b.says(symbol, name));
      why = says.empty() ? fmt::format("its axis {} must be {}", k, want[k]) : fmt::format("{}", fmt::join(says, " and "));
      break;
    }
    throw ShapeError(fmt::format("{}: {} is {} but {} (expected {} {} = {})", model, name, to_string(have), why, name,
                                 symbolic(d), to_string(want)));
  }
  return b;
}

SignatureGraph::SignatureGraph(const Signature& sig, const Feeds& given, const std::vector<std::string>& wrt,
                               const std::vector<std::string>& cotangents) {
  std::vector<std::string> names = wrt;
  names.insert(names.end(), cotangents.begin(), cotangents.end());
  sizes_ = sig.sizes(names, given);
  for (auto& n : names) in_[n] = input(*g_, n, shape_of(sig.decl(n), sizes_));
  for (auto& n : wrt) wrt_.push_back(in_[n]);
  for (auto& n : cotangents) seeds_.push_back(in_[n]);
}

Value SignatureGraph::operator[](const std::string& input) const {
  auto it = in_.find(input);
  if (it == in_.end()) throw std::logic_error(fmt::format("this graph has no input '{}'", input));
  return it->second;
}

BuiltGraph SignatureGraph::outputs(std::vector<std::pair<std::string, Value>> outs) {
  return {std::move(g_), std::move(outs), wrt_};
}

BuiltGraph SignatureGraph::gradients(const std::vector<Value>& ys) {
  std::vector<Value> grads = sg::gradients(ys, seeds_, wrt_);
  std::vector<std::pair<std::string, Value>> outs;
  for (size_t i = 0; i < wrt_.size(); ++i) outs.emplace_back("d" + wrt_[i].name(), grads[i]);
  return outputs(std::move(outs));
}

} // namespace sg::fit
