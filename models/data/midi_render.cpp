#include "models/data/midi_render.hpp"

#include "graph/errors.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sg {

namespace fs = std::filesystem;

namespace {

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

} // namespace

Renderer find_renderer(const std::string& mid, const std::string& wav, const std::string& path_env) {
  std::vector<fs::path> dirs;
  std::stringstream ss(path_env);
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty()) dirs.emplace_back(d);
  auto find = [&](const char* name) -> std::string {
    for (auto& d : dirs)
      if (executable(d / name)) return (d / name).string();
    return {};
  };
  if (std::string t = find("timidity"); !t.empty()) return {t, {"-Ow", "-o", wav, mid}};
  if (std::string f = find("fluidsynth"); !f.empty())
    for (const char* sf : {"/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
                           "/usr/share/soundfonts/default.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2"})
      if (fs::exists(sf)) return {f, {"-ni", "-F", wav, sf, mid}};
  return {};
}

std::string no_renderer_message(const std::string& mid, const std::string& wav) {
  return fmt::format("cannot render '{}': neither timidity nor fluidsynth (with a SoundFont) is on "
                     "PATH. Install one (apt-get install timidity), then run: timidity -Ow -o {} {} "
                     "('{}' is written)",
                     wav, wav, mid, mid);
}

std::string render_wav(const std::string& mid, const std::string& wav) {
  const char* path = std::getenv("PATH");
  const Renderer r = find_renderer(mid, wav, path ? path : "");
  if (r.program.empty()) throw IoError(no_renderer_message(mid, wav));
  std::vector<std::string> argv_s{r.program};
  argv_s.insert(argv_s.end(), r.args.begin(), r.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // the renderer's chatter goes away; its errors stay on stderr
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, r.program.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) throw IoError(fmt::format("cannot run {}: {}", r.program, std::strerror(err)));
  const std::string name = fs::path(r.program).filename().string();
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(wav))
    throw IoError(fmt::format("{} failed to render '{}' to '{}' (exit status {})", name, mid, wav,
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  return name;
}

} // namespace sg
