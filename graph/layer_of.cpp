#include "graph/layer_of.hpp"

#include <vector>

namespace sg {

namespace {

std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = name.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(name.substr(start, slash - start));
  parts.push_back(name.substr(start));
  return parts;
}

// "t12" -> 12, else 0
int64_t step_of(const std::string& part) {
  if (part.size() < 2 || part[0] != 't') return 0;
  int64_t v = 0;
  for (size_t i = 1; i < part.size(); ++i) {
    if (part[i] < '0' || part[i] > '9') return 0;
    v = v * 10 + (part[i] - '0');
  }
  return v;
}

} // namespace

LayerPath layer_of(const Node& n) {
  LayerPath p;
  std::vector<std::string> parts = split_path(n.name);
  if (parts.size() > 1 && parts[0] == "grad") parts.erase(parts.begin());
  if (n.op != Op::Variable) parts.pop_back();
  for (const std::string& part : parts)
    if (int64_t t = step_of(part)) {
      if (!p.step) p.step = t;
    } else if (p.layer.empty()) {
      p.layer = part;
    }
  return p;
}

} // namespace sg
