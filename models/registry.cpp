#include "models/model.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <stdexcept>

namespace sg {

namespace {
std::vector<Model>& store() {
  static std::vector<Model> m;
  return m;
}
} // namespace

void register_model(Model m) {
  auto& s = store();
  if (find_model(m.name)) throw std::logic_error("model registered twice: " + m.name);
  for (auto& o : m.options) check_declaration(o, "model " + m.name);
  s.push_back(std::move(m));
  std::sort(s.begin(), s.end(), [](const Model& a, const Model& b) { return a.name < b.name; });
}

const std::vector<Model>& models() { return store(); }

const Model* find_model(const std::string& name) {
  for (auto& m : store())
    if (m.name == name) return &m;
  return nullptr;
}

const ModelCommand* Model::find_command(const std::string& command) const {
  for (auto& c : commands)
    if (c.name == command) return &c;
  return nullptr;
}

std::string data_dir(const std::string& given) {
  namespace fs = std::filesystem;
  if (!given.empty()) {
    if (!fs::is_directory(given)) throw std::invalid_argument("--data-dir: no directory '" + given + "'");
    return given;
  }
  for (const char* c : {"data", "../shared/data", "../../shared/data"})
    if (fs::exists(fs::path(c) / "README.md") || fs::exists(fs::path(c) / "dinos.txt")) return c;
  const fs::path beside_checkout = SEQGRAPH_DATA_DIR;
  if (fs::is_directory(beside_checkout)) return beside_checkout.lexically_normal().string();
  throw std::invalid_argument(fmt::format(
      "cannot find the course data: looked in ./data, ../shared/data and {}; pass --data-dir DIR",
      beside_checkout.lexically_normal().string()));
}

} // namespace sg
