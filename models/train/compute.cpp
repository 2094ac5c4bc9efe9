#include "models/train/compute.hpp"

namespace sg::fit {

Feeds compute(const Feeds& inputs, const std::function<void(Net&)>& build, DType dtype) {
  Spec spec{.name = "compute", .dtype = dtype, .build = build};
  for (const auto& [name, t] : inputs) {
    InputDecl d{name, {}};
    for (int64_t size : t.shape()) d.shape.push_back(dim(size));
    spec.inputs.push_back(std::move(d));
  }
  ParamStore none;
  return Network(spec, none, 0).predict(inputs);
}

} // namespace sg::fit
