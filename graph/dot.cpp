#include "graph/dot.hpp"

#include "graph/dot_escape.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace sg {

namespace {

namespace fs = std::filesystem;
using Buf = fmt::memory_buffer;

void put_escaped(Buf& out, std::string_view s) { dot_escape(out, s); }

std::string short_name(const std::string& name) {
  auto p = name.rfind('/');
  return p == std::string::npos ? name : name.substr(p + 1);
}

// [A-Za-z0-9_] only, for readable cluster ids.
std::string ident(std::string_view s) {
  std::string r;
  for (char c : s) r.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return r;
}

// "tanh" or "tanh_12" for op "tanh".
bool auto_named(std::string_view name, std::string_view op) {
  if (!name.starts_with(op)) return false;
  name.remove_prefix(op.size());
  if (name.empty()) return true;
  if (name.size() < 2 || name[0] != '_') return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

constexpr const char* kGradFill = "#ffd8a8";   // light orange
constexpr const char* kUpdateFill = "#ffc9d6"; // light red / pink
constexpr const char* kInputFill = "#e3efff";  // light blue
constexpr const char* kVarBorder = "#1f4e9c";
constexpr const char* kGradEdge = "#c8742a";
constexpr const char* kUpdateEdge = "#c2185b";

struct Scope {
  std::vector<std::string> children; // full paths, sorted
  std::vector<NodeId> nodes;
};

class DotWriter {
public:
  DotWriter(const Graph& g, const DotOptions& opt) : g_(g), opt_(opt) {}

  std::string run() {
    find_folded();
    out_.reserve(g_.size() * 96 + 1024);
    header();
    if (opt_.clusters) {
      build_scopes();
      emit_scope("", 1);
    } else {
      for (NodeId id = 0; id < g_.size(); ++id)
        if (!folded_[id] && !g_.node(id).superseded) emit_node(id, 1);
    }
    emit_edges();
    if (opt_.legend) legend();
    out_.append(std::string_view("}\n"));
    return fmt::to_string(out_);
  }

private:
  void indent(int depth) {
    for (int i = 0; i < depth; ++i) out_.append(std::string_view("  "));
  }

  // Rank-0 constants with data consumers and no ordering edges are not drawn:
  // their value appears in each consumer's label instead.
  void find_folded() {
    const auto& bg = g_.boost();
    folded_.assign(g_.size(), 0);
    if (!opt_.fold_scalar_constants) return;
    for (NodeId id = 0; id < g_.size(); ++id) {
      const Node& n = g_.node(id);
      if (n.op != Op::Constant || !n.shape.empty() || !n.value || n.value->size() != 1) continue;
      bool data_out = false, order = false;
      for (auto [e, end] = boost::out_edges(id, bg); e != end; ++e) {
        if (bg[*e].slot < 0) order = true;
        else data_out = true;
      }
      if (boost::in_degree(id, bg) > 0) order = true;
      if (data_out && !order) folded_[id] = 1;
    }
  }

  void header() {
    fmt::format_to(std::back_inserter(out_), "digraph seqgraph {{\n");
    fmt::format_to(std::back_inserter(out_),
                   "  graph [rankdir={}, fontname=\"Helvetica\", fontsize=12, nodesep=0.25, "
                   "ranksep=0.35",
                   opt_.rankdir == "LR" ? "LR" : "TB");
    if (!opt_.title.empty()) {
      out_.append(std::string_view(", labelloc=t, fontsize=16, label=\""));
      put_escaped(out_, opt_.title);
      out_.push_back('"');
    }
    out_.append(std::string_view("];\n"));
    out_.append(std::string_view(
        "  node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\", fontsize=10, "
        "height=0.3, margin=\"0.08,0.04\"];\n"
        "  edge [arrowsize=0.6, color=\"#444444\", fontname=\"Helvetica\"];\n"));
  }

  void build_scopes() {
    scopes_[""];
    for (NodeId id = 0; id < g_.size(); ++id) {
      if (folded_[id] || g_.node(id).superseded) continue;
      std::string s = g_.node(id).scope();
      scopes_[s].nodes.push_back(id);
      // Register the chain of parents (stop at the first one already known).
      while (!s.empty()) {
        auto p = s.rfind('/');
        std::string parent = p == std::string::npos ? std::string() : s.substr(0, p);
        Scope& ps = scopes_[parent];
        bool fresh = registered_.insert(s).second;
        if (!fresh) break;
        ps.children.push_back(s);
        s = parent;
      }
    }
    for (auto& [k, v] : scopes_) std::sort(v.children.begin(), v.children.end());
  }

  void emit_scope(const std::string& path, int depth) {
    const Scope& sc = scopes_.at(path);
    for (const std::string& child : sc.children) {
      indent(depth);
      fmt::format_to(std::back_inserter(out_), "subgraph cluster_{}_{} {{\n", clusters_++,
                     ident(short_name(child)));
      indent(depth + 1);
      out_.append(std::string_view("label=\""));
      put_escaped(out_, short_name(child));
      out_.append(std::string_view("\"; tooltip=\""));
      put_escaped(out_, child);
      const bool grad = child == "grad" || child.starts_with("grad/");
      fmt::format_to(std::back_inserter(out_),
                     "\"; style=\"rounded{}\"; color=\"{}\"; fillcolor=\"{}\"; fontsize=11;\n",
                     grad ? ",filled" : "", grad ? "#e0a060" : "#8c8c8c",
                     grad ? "#fff7ee" : "white");
      emit_scope(child, depth + 1);
      indent(depth);
      out_.append(std::string_view("}\n"));
    }
    for (NodeId id : sc.nodes) emit_node(id, depth);
  }

  void emit_node(NodeId id, int depth) {
    const Node& n = g_.node(id);
    indent(depth);
    fmt::format_to(std::back_inserter(out_), "n{} [label=\"", id);
    const std::string shown = opt_.clusters ? short_name(n.name) : n.name;
    put_escaped(out_, shown);
    // The op, unless the name already says it (automatic names: "matmul_3").
    if (!auto_named(short_name(n.name), op_name(n.op))) {
      out_.append(std::string_view("\\n"));
      put_escaped(out_, op_name(n.op));
    }
    if (opt_.shapes) {
      out_.append(std::string_view("\\n"));
      put_escaped(out_, to_string(n.shape));
    }
    if (n.op == Op::Constant && n.shape.empty() && n.value && n.value->size() == 1)
      fmt::format_to(std::back_inserter(out_), "\\n= {:.6g}", n.value->at(0));
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      NodeId in = n.inputs[k];
      if (folded_[in]) fmt::format_to(std::back_inserter(out_), "\\narg {} = {:.6g}", k, g_.node(in).value->at(0));
    }
    out_.append(std::string_view("\", tooltip=\""));
    put_escaped(out_, fmt::format("{} ({} {}, {}){}{}", n.name, to_string(n.kind), op_name(n.op),
                                  to_string(n.shape), n.where.empty() ? "" : " at ", n.where));
    out_.push_back('"');

    const char* fill = n.kind == NodeKind::gradient ? kGradFill
                       : n.kind == NodeKind::update ? kUpdateFill
                                                    : nullptr;
    switch (n.op) {
    case Op::Input:
      fmt::format_to(std::back_inserter(out_), ", shape=ellipse, fillcolor=\"{}\"",
                     fill ? fill : kInputFill);
      break;
    case Op::Variable:
      fmt::format_to(std::back_inserter(out_), ", style=\"filled,bold\", penwidth=2, color=\"{}\"",
                     kVarBorder);
      if (fill) fmt::format_to(std::back_inserter(out_), ", fillcolor=\"{}\"", fill);
      break;
    case Op::Constant:
      out_.append(std::string_view(", shape=plaintext, fontsize=8, height=0.2"));
      if (fill) fmt::format_to(std::back_inserter(out_), ", fillcolor=\"{}\"", fill);
      break;
    default:
      if (fill) fmt::format_to(std::back_inserter(out_), ", fillcolor=\"{}\"", fill);
    }
    out_.append(std::string_view("];\n"));
  }

  void emit_edges() {
    const auto& bg = g_.boost();
    for (auto [e, end] = boost::edges(bg); e != end; ++e) {
      NodeId s = boost::source(*e, bg), t = boost::target(*e, bg);
      if (folded_[s] || g_.node(s).superseded || g_.node(t).superseded) continue;
      const int slot = bg[*e].slot;
      const NodeKind tk = g_.node(t).kind;
      fmt::format_to(std::back_inserter(out_), "  n{} -> n{}", s, t);
      if (slot < 0) {
        out_.append(std::string_view(
            " [style=dashed, color=\"#888888\", arrowhead=empty, tooltip=\"order only\"];\n"));
      } else if (tk == NodeKind::gradient) {
        fmt::format_to(std::back_inserter(out_), " [color=\"{}\"];\n", kGradEdge);
      } else if (tk == NodeKind::update) {
        fmt::format_to(std::back_inserter(out_), " [color=\"{}\"];\n", kUpdateEdge);
      } else {
        out_.append(std::string_view(";\n"));
      }
    }
  }

  void legend() {
    fmt::format_to(
        std::back_inserter(out_),
        "  subgraph cluster_legend {{\n"
        "    label=\"legend\"; style=\"rounded,dashed\"; color=\"#aaaaaa\"; fontsize=10;\n"
        "    legend_input [label=\"input\", shape=ellipse, fillcolor=\"{}\"];\n"
        "    legend_variable [label=\"parameter\\n(variable)\", style=\"filled,bold\", "
        "penwidth=2, color=\"{}\"];\n"
        "    legend_constant [label=\"constant\", shape=plaintext, fontsize=8, height=0.2];\n"
        "    legend_forward [label=\"name\\nop\\n(shape)\"];\n"
        "    legend_gradient [label=\"gradient\", fillcolor=\"{}\"];\n"
        "    legend_update [label=\"update\", fillcolor=\"{}\"];\n"
        "    legend_input -> legend_forward [label=\" data\", fontsize=8];\n"
        "    legend_variable -> legend_forward;\n"
        "    legend_constant -> legend_forward;\n"
        "    legend_forward -> legend_gradient [color=\"{}\"];\n"
        "    legend_gradient -> legend_update [color=\"{}\"];\n"
        "    legend_forward -> legend_update [style=dashed, color=\"#888888\", arrowhead=empty, "
        "label=\" order only\", fontsize=8];\n"
        "  }}\n",
        kInputFill, kVarBorder, kGradFill, kUpdateFill, kGradEdge, kUpdateEdge);
  }

  const Graph& g_;
  const DotOptions& opt_;
  Buf out_;
  std::vector<char> folded_;
  std::map<std::string, Scope> scopes_;
  std::set<std::string> registered_;
  int clusters_ = 0;
};

std::string lower_ext(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

std::string find_dot() {
  const char* p = std::getenv("PATH");
  if (!p) return {};
  std::string_view path(p);
  while (true) {
    auto colon = path.find(':');
    std::string dir(path.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/dot";
    if (::access(cand.c_str(), X_OK) == 0 && !fs::is_directory(cand)) return cand;
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return {};
}

std::string shell_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'') r += "'\\''";
    else r.push_back(c);
  }
  return r + "'";
}

void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) throw std::runtime_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
}

} // namespace

std::string to_dot(const Graph& g, const DotOptions& opt) {
  return opt.layers ? layer_dot(g, opt) : DotWriter(g, opt).run();
}

bool have_graphviz() { return !find_dot().empty(); }

void write_graph_image(const Graph& g, const std::string& path, const DotOptions& opt) {
  const std::string ext = lower_ext(path);
  if (ext == ".dot" || ext == ".gv") {
    write_text(path, to_dot(g, opt));
    return;
  }
  if (ext != ".svg" && ext != ".png" && ext != ".pdf")
    throw std::invalid_argument(fmt::format(
        "cannot write a graph as '{}': the extension must be .dot, .gv, .svg, .png or .pdf", path));
  const std::string dot = find_dot();
  if (dot.empty())
    throw std::runtime_error(fmt::format(
        "rendering {} needs Graphviz's `dot` (apt-get install graphviz); or write .dot", ext));
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw std::runtime_error(
        fmt::format("cannot write '{}': directory '{}' does not exist", path, parent.string()));

  // The DOT text goes through a temporary file (not a pipe: a `dot` that
  // exits early must not kill us with SIGPIPE).
  std::string tmpl = (fs::temp_directory_path() / "seqgraph-dot-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot create a temporary file: {}", std::strerror(errno)));
  ::close(fd);
  struct Remove {
    std::string p;
    ~Remove() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } remove{tmpl};
  write_text(tmpl, to_dot(g, opt));
  std::string cmd = fmt::format("{} -T{} -o {} {}", shell_quote(dot), ext.substr(1), shell_quote(path),
                                shell_quote(tmpl));
  int rc = std::system(cmd.c_str());
  if (rc == -1)
    throw std::runtime_error(fmt::format("cannot run Graphviz's `dot`: {}", std::strerror(errno)));
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
    throw std::runtime_error(fmt::format("Graphviz's `dot` failed (status {}) rendering '{}'",
                                         WIFEXITED(rc) ? WEXITSTATUS(rc) : rc, path));
}

} // namespace sg
