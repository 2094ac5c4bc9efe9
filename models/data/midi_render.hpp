// MIDI to WAV through an external synthesizer: timidity, else fluidsynth
// with a SoundFont found in the usual places (Jazz's `sample --wav`).
#pragma once

#include <string>
#include <vector>

namespace sg {

// A program that renders MIDI to WAV, searched in `path_env` (a PATH value).
// An empty `program` means none was found.
struct Renderer {
  std::string program;           // full path
  std::vector<std::string> args; // the command's arguments, after the program
};
Renderer find_renderer(const std::string& mid, const std::string& wav, const std::string& path_env);
// What to do when no renderer is found.
std::string no_renderer_message(const std::string& mid, const std::string& wav);

// Renders `mid` to `wav` with the renderer found on $PATH (its standard output
// discarded, its errors left on stderr); returns the program's file name.
// IoError if none is found (no_renderer_message), it cannot run, it fails,
// or it writes no `wav`.
std::string render_wav(const std::string& mid, const std::string& wav);

} // namespace sg
