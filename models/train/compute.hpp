// A formula evaluated once, as numpy evaluates it: the graph a function
// builds of some tensors, compiled, fed, run and fetched by a fit::Network's
// predict (models/train/fit.hpp), with no Spec to declare and no parameters.
// Word vectors' cosine_similarity, neutralize and equalize run this way:
//
//   const fit::Feeds r = fit::compute({{"u", u}, {"v", v}}, [](fit::Net& n) {
//     n.outputs["cos"] = cosine_similarity(n.in("u"), n.in("v"));
//   }, DType::f64);
//   double cos = r.at("cos").at(0);
#pragma once

#include "models/train/fit.hpp"

#include <functional>

namespace sg::fit {

// Each of `inputs` is declared with the shape it has (no symbolic sizes) and
// fed by name; `build` sets Net::outputs from Net::in (Net::mode is predict),
// and their values are returned by name. A parameter the graph makes starts
// from its initializer (seed 0) and is dropped afterwards.
Feeds compute(const Feeds& inputs, const std::function<void(Net&)>& build, DType dtype = DType::f32);

} // namespace sg::fit
