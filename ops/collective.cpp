// Data-parallel collectives: the gradient reduction of an MPI job, as graph
// nodes (Horovod's tensor fusion, PyTorch DDP's buckets). The process group
// and its reduction thread are graph/dist.hpp; these ops hand it buffers
// and read them back.
//
//   reduce_start(weight, g_1, ..., g_k)  -> weight * [g_1 | ... | g_k]  (flat),
//                                           submitted as buffer `seq` of the run
//   reduce_wait(start)                   -> g_i's piece, once the sum over the ranks is in
//
// The reduction thread takes buffers in sequence order, the same on every
// rank, so the scheduler may run the nodes in any order the graph allows.
// A start node's buffer is written by that thread after the node returns;
// its only readers are the wait nodes, which block until it is done, and
// the plan frees a buffer only after its last reader: nothing else sees it
// half-reduced.
#include "graph/dist.hpp"
#include "ops/family.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace sg {

namespace detail {

void define_collective(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // (weight (), g_1, ..., g_k) -> (sum of numel(g_i)): the weighted gradients, flat
  def(Op::ReduceStart) = {.name = "reduce_start", .arity = -1,
    .shape = [](Shapes in, const Attrs& a) {
      const CollectiveAttrs& at = a.get<CollectiveAttrs>();
      if (in.size() < 2) throw RuleError("reduce_start takes (weight, gradients...)");
      if (!in[0]->empty()) throw RuleError(fmt::format("reduce_start: the weight must be a scalar, got {}",
                                                       to_string(*in[0])));
      if (at.seq < 0 || at.seq >= at.count)
        throw RuleError(fmt::format("reduce_start: buffer {} of {}", at.seq, at.count));
      int64_t n = 0;
      for (size_t i = 1; i < in.size(); ++i) n += numel(*in[i]);
      return Shape{n};
    },
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const CollectiveAttrs& at = attr<CollectiveAttrs>(k);
      const T w = k.x(0)[0];
      T* out = k.out;
      for (int i = 1; i < k.n_in; ++i) {
        const T* g = k.x(i);
        const int64_t n = k.size(i);
        for (int64_t j = 0; j < n; ++j) out[j] = w * g[j];
        out += n;
      }
      dist::Group::world().submit(int(at.seq), int(at.count), k.out, k.n(), std::is_same_v<T, double>);
    }),
    .no_grad = "a collective: the data-parallel gradient reduction",
    .cost = [](Shapes, const Shape& out, const Attrs&) { return double(numel(out)); }};

  // (start) -> CollectiveAttrs::shape: the elements [offset, offset + numel) of the reduced buffer
  def(Op::ReduceWait) = {.name = "reduce_wait", .arity = 1,
    .shape = [](Shapes in, const Attrs& a) {
      const CollectiveAttrs& at = a.get<CollectiveAttrs>();
      if (in[0]->size() != 1 || at.offset < 0 || at.offset + numel(at.shape) > (*in[0])[0])
        throw RuleError(fmt::format("reduce_wait: {} at {} of a buffer {}", to_string(at.shape), at.offset,
                                    to_string(*in[0])));
      return at.shape;
    },
    .kernel = kernels([](const auto& k) {
      const CollectiveAttrs& at = attr<CollectiveAttrs>(k);
      dist::Group::world().wait(int(at.seq));
      std::memcpy(k.out, k.x(0) + at.offset, size_t(k.n()) * sizeof(*k.out));
    }),
    .no_grad = "a collective: the data-parallel gradient reduction",
    // blocks until the ranks' sum is in: a task of its own, never inline on a busy thread
    .cost = [](Shapes, const Shape&, const Attrs&) { return 1e6; }};
}

} // namespace detail

using detail::make;

std::vector<Value> allreduce_gradients(const std::vector<Value>& grads, Value weight, int64_t bucket_bytes, Loc l) {
  std::vector<size_t> order; // the valid gradients, in the order the backward pass computes them
  for (size_t i = 0; i < grads.size(); ++i)
    if (grads[i].valid()) order.push_back(i);
  if (order.empty()) return grads;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return grads[a].id() < grads[b].id(); });
  std::vector<std::vector<size_t>> buckets(1);
  int64_t bytes = 0;
  for (size_t i : order) {
    if (bytes >= bucket_bytes) buckets.emplace_back(), bytes = 0;
    buckets.back().push_back(i);
    bytes += 4 * numel(grads[i].shape());
  }
  Graph& g = weight.graph();
  Graph::KindGuard kind(g, NodeKind::gradient);
  auto scope = g.scope("allreduce");
  const auto count = int64_t(buckets.size());
  std::vector<Value> starts;
  for (int64_t k = 0; k < count; ++k) {
    std::vector<Value> in{weight};
    for (size_t i : buckets[size_t(k)]) in.push_back(grads[i]);
    starts.push_back(make(Op::ReduceStart, in, CollectiveAttrs{.seq = k, .count = count, .offset = 0, .shape = {}}, l));
    if (k > 0) g.add_order(starts[size_t(k - 1)].id(), starts.back().id()); // handed over in sequence order
  }
  std::vector<Value> out = grads;
  for (int64_t k = 0; k < count; ++k) {
    int64_t offset = 0;
    for (size_t i : buckets[size_t(k)]) {
      const Shape& shape = grads[i].shape();
      out[i] = make(Op::ReduceWait, {starts[size_t(k)]},
                    CollectiveAttrs{.seq = k, .count = count, .offset = offset, .shape = shape}, l);
      // after every bucket was handed over: a wait never holds a thread the backward pass still needs
      if (k + 1 < count) g.add_order(starts.back().id(), out[i].id());
      offset += numel(shape);
    }
  }
  return out;
}

} // namespace sg
