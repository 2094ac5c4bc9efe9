// The op registry: one table, filled once by the family files, checked for
// completeness (every op in ops/op_list.def has a name, a shape rule and a
// kernel, and either a VJP or a reason why not), and each op's attribute
// struct from its row.
#include "ops/family.hpp"

#include <stdexcept>

namespace sg {

namespace {

const detail::OpTable& table() {
  static const detail::OpTable t = [] {
    detail::OpTable t{};
    detail::define_source(t);
    detail::define_elementwise(t);
    detail::define_linalg(t);
    detail::define_shape(t);
    detail::define_reduce(t);
    detail::define_nn(t);
    detail::define_update(t);
    detail::define_sparse(t);
    detail::define_collective(t);
    for (size_t i = 0; i < kOpCount; ++i) {
      const OpDef& d = t[i];
      if (d.name && (!d.shape || !d.kernel.f32 || !d.kernel.f64 || (!d.vjp && !d.no_grad)))
        throw std::logic_error(fmt::format("op table: op {} is incompletely defined", d.name));
    }
    return t;
  }();
  return t;
}

constexpr const char* kFamilies[] = {
#define SG_OP(name, family, attrs) #family,
#include "ops/op_list.def"
#undef SG_OP
};

} // namespace

const char* op_family(Op op) { return kFamilies[static_cast<size_t>(op)]; }

constexpr const char* kAttrsNames[] = {
#define SG_OP(name, family, attrs) #attrs,
#include "ops/op_list.def"
#undef SG_OP
};
constexpr size_t kAttrsIndex[] = {
#define SG_OP(name, family, attrs) attrs_index<attrs>,
#include "ops/op_list.def"
#undef SG_OP
};

const char* op_attrs_name(Op op) { return kAttrsNames[static_cast<size_t>(op)]; }
size_t op_attrs_index(Op op) { return kAttrsIndex[static_cast<size_t>(op)]; }

constexpr const char* kEnumNames[] = {
#define SG_OP(name, family, attrs) #name,
#include "ops/op_list.def"
#undef SG_OP
};

const OpDef& op_def(Op op) {
  const OpDef& d = table()[static_cast<size_t>(op)];
  if (!d.name)
    throw std::logic_error(fmt::format("op {} is listed in ops/op_list.def but not defined in ops/{}.cpp",
                                       kEnumNames[static_cast<size_t>(op)], op_family(op)));
  return d;
}
const char* op_name(Op op) { return op_def(op).name; }
bool op_defined(Op op) { return table()[static_cast<size_t>(op)].name != nullptr; }

namespace detail {

Value make(Op op, std::vector<Value> inputs, Attrs attrs, Loc l) {
  if (inputs.empty()) throw std::logic_error("detail::make: no inputs");
  Graph& g = inputs[0].graph();
  std::vector<NodeId> ids;
  for (auto& v : inputs) {
    if (!v.valid())
      throw std::invalid_argument(fmt::format("{} at {}: an input is an empty Value", op_name(op),
                                              where(l)));
    if (&v.graph() != &g)
      throw std::invalid_argument(fmt::format("{} at {}: inputs '{}' and '{}' are in different graphs",
                                              op_name(op), where(l), inputs[0].name(), v.name()));
    ids.push_back(v.id());
  }
  return Value(g, g.add(op, std::move(ids), std::move(attrs), {}, l));
}

Value make_source(Graph& g, Op op, Attrs attrs, Loc l) {
  return Value(g, g.add(op, {}, std::move(attrs), {}, l));
}

Shape same_as_first(Shapes in, const Attrs&) { return *in[0]; }

int64_t norm_axis(int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw RuleError(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return a;
}

AxisSplit split_at(const Shape& s, int64_t axis) {
  AxisSplit p;
  for (int64_t i = 0; i < int64_t(s.size()); ++i) {
    if (i < axis)
      p.outer *= s[size_t(i)];
    else if (i == axis)
      p.n = s[size_t(i)];
    else
      p.inner *= s[size_t(i)];
  }
  return p;
}

Strides strides_of(const Shape& s) {
  Strides st;
  if (s.size() > st.v.size())
    throw std::invalid_argument(fmt::format("rank {} is above the supported 8", s.size()));
  st.n = s.size();
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st.v[i] = acc;
    acc *= s[i];
  }
  return st;
}

} // namespace detail
} // namespace sg
