#!/usr/bin/env python3
"""The trigger-word data as the course computes it, for tests/test_audio.cpp
to compare against: its spectrogram (td_utils.graph_spectrogram: scipy's
wavfile, channel 0, matplotlib's specgram) and its mix (pydub's
AudioSegment arithmetic in create_training_example). Debian:
apt-get install python3-matplotlib python3-scipy python3-pydub.

    trigger_reference.py specgram IN.wav OUT.npy
        Pxx (101, frames) of IN's channel 0, float64
    trigger_reference.py mix OUT.wav BACKGROUND.wav [CLIP.wav POSITION_MS]...
        background - 20, each clip overlaid at its position (in order),
        match_target_amplitude(-20), exported as OUT.wav
"""
import sys
import warnings

warnings.filterwarnings("ignore")  # pydub's "no ffmpeg" (WAV needs none), audioop's deprecation

import numpy as np  # noqa: E402


def specgram(src, dst):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.io import wavfile

    rate, data = wavfile.read(src)
    nfft, fs, noverlap = 200, 8000, 120  # the course's graph_spectrogram
    x = data if data.ndim == 1 else data[:, 0]
    pxx, freqs, bins, im = plt.specgram(x, nfft, fs, noverlap=noverlap)
    np.save(dst, np.asarray(pxx, dtype=np.float64))


def mix(dst, background, clips):
    from pydub import AudioSegment

    def match_target_amplitude(sound, target_dBFS):  # the course's td_utils
        change_in_dBFS = target_dBFS - sound.dBFS
        return sound.apply_gain(change_in_dBFS)

    out = AudioSegment.from_wav(background)[:10000] - 20
    for path, position in clips:
        out = out.overlay(AudioSegment.from_wav(path), position=position)
    out = match_target_amplitude(out, -20.0)
    out.export(dst, format="wav")


def main(argv):
    if len(argv) == 3 and argv[0] == "specgram":
        specgram(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "mix" and len(argv) % 2 == 1:
        mix(argv[1], argv[2], [(argv[i], int(argv[i + 1])) for i in range(3, len(argv), 2)])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
