// Data-parallel collectives: the gradient reduction of an MPI job, as graph
// nodes (Horovod's tensor fusion, PyTorch DDP's buckets). The process group
// and its reduction thread are graph/dist.hpp; these ops hand it buffers
// and read them back.
//
//   reduce_start(x_1, ..., x_k)  -> [x_1 | ... | x_k]  (flat), submitted as
//                                   buffer `seq` of the run
//   reduce_wait(start)           -> x_i's piece, once the sum over the ranks is in
//
// The reduction thread takes buffers in sequence order (the order the
// graph added its starts, Graph::collectives), the same on every rank, so
// the scheduler may run the nodes in any order the graph allows. Each start
// runs after the previous one (an order edge): when a wait blocks, every
// buffer before its own was handed over, so the thread can get to it (a
// wait never waits for a start that its own thread would have to run).
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

  // (x_1, ..., x_k) -> (sum of numel(x_i)): the inputs, flat
  def(Op::ReduceStart) = {.name = "reduce_start", .arity = -1,
    .shape = [](Shapes in, const Attrs& a) {
      if (a.get<CollectiveAttrs>().seq < 0) throw RuleError("reduce_start: a negative sequence number");
      int64_t n = 0;
      for (const Shape* s : in) n += numel(*s);
      return Shape{n};
    },
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      T* out = k.out;
      for (int i = 0; i < k.n_in; ++i) {
        std::memcpy(out, k.x(i), size_t(k.size(i)) * sizeof(T));
        out += k.size(i);
      }
      dist::Group::world().submit(int(attr<CollectiveAttrs>(k).seq), k.out, k.n(), std::is_same_v<T, double>);
    }),
    // one input: the flat copy's gradient, in its shape (allreduce_sum); a
    // gradient bucket is never differentiated
    .vjp = [](const VjpCtx& c, int i) -> Value {
      if (c.arity() != 1)
        throw std::logic_error("reduce_start: no gradient through a bucket of several values (allreduce_gradients)");
      return reshape(c.dy, c.shape(i));
    },
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
    // y = sum over the ranks of x: dL/dx on every rank is the sum over the
    // ranks of dL/dy (each rank's loss depends on y; fit weights the ranks'
    // losses in the graph, so this sum needs no weights)
    .vjp = [](const VjpCtx& c, int) -> Value {
      const CollectiveAttrs at = c.attr<CollectiveAttrs>();
      if (at.offset != 0 || numel(at.shape) != numel(c.shape(0)))
        throw std::logic_error("reduce_wait: no gradient through a piece of a bucket (allreduce_gradients)");
      return reshape(allreduce_sum(c.dy), c.shape(0));
    },
    // blocks until the ranks' sum is in: a task of its own, never inline on a busy thread
    .cost = [](Shapes, const Shape&, const Attrs&) { return 1e6; }};
}

} // namespace detail

using detail::make;

namespace {

// A reduce_start of `xs`, numbered and ordered after the graph's previous one.
Value start(Graph& g, const std::vector<Value>& xs, Loc l) {
  const int64_t seq = g.collectives++;
  Value s = make(Op::ReduceStart, xs, CollectiveAttrs{.seq = seq, .offset = 0, .shape = {}}, l);
  if (seq > 0) g.add_order(g.last_collective, s.id());
  g.last_collective = s.id();
  return s;
}

} // namespace

Value allreduce_sum(Value x, Loc l) {
  Graph& g = x.graph();
  auto scope = g.scope("allreduce");
  Value s = start(g, {x}, l);
  return make(Op::ReduceWait, {s}, CollectiveAttrs{.seq = s.node().attrs.get<CollectiveAttrs>().seq, .offset = 0,
                                                   .shape = x.shape()}, l);
}

std::vector<Value> allreduce_gradients(const std::vector<Value>& grads, int64_t bucket_bytes, Loc l) {
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
  Graph& g = grads[order[0]].graph();
  Graph::KindGuard kind(g, NodeKind::gradient);
  auto scope = g.scope("allreduce");
  std::vector<Value> starts;
  for (const std::vector<size_t>& b : buckets) {
    std::vector<Value> in;
    for (size_t i : b) in.push_back(grads[i]);
    starts.push_back(start(g, in, l));
  }
  std::vector<Value> out = grads;
  for (size_t k = 0; k < buckets.size(); ++k) {
    const int64_t seq = starts[k].node().attrs.get<CollectiveAttrs>().seq;
    int64_t offset = 0;
    for (size_t i : buckets[k]) {
      const Shape& shape = grads[i].shape();
      out[i] = make(Op::ReduceWait, {starts[k]}, CollectiveAttrs{.seq = seq, .offset = offset, .shape = shape}, l);
      // after every bucket was handed over: a wait never holds a thread the backward pass still needs
      if (k + 1 < buckets.size()) g.add_order(starts.back().id(), out[i].id());
      offset += numel(shape);
    }
  }
  return out;
}

} // namespace sg
