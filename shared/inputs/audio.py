"""Audio files as float32 mono waveforms, through soundfile (libsndfile).

`read_audio` checks the file before decoding (suffix, size, duration from
the header) and resamples to the model's rate with `scipy.signal.resample_poly`,
so a clip recorded at 44.1 kHz feeds a 16 kHz model. Decoder failures are one
`DataError` line naming the file.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from shared.errors import DataError, first_line
from shared.inputs import require_kind

MAX_SECONDS = 600.0  # ten minutes: longer recordings are refused before decoding


def audio_info(path: Path) -> tuple[int, int, float]:
    """(sample rate, channels, seconds) from the file's header, without decoding it."""
    import soundfile as sf

    path = require_kind(path, "audio")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, OSError, ValueError) as exc:
        rate = _riff_rate(path)
        if rate == 0:
            raise DataError(f"{path}: the WAV header gives a sample rate of 0 Hz; the file is damaged or was written wrongly") from None
        raise DataError(f"could not read {path} as audio: {first_line(exc)}") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise DataError(f"{path}: the audio header gives {info.samplerate} Hz and {info.channels} channels")
    return int(info.samplerate), int(info.channels), float(info.frames) / info.samplerate


def _riff_rate(path: Path) -> int | None:
    """The sample rate a RIFF/WAVE file's first `fmt ` chunk states (None when it is not one), for error messages."""
    with open(path, "rb") as f:
        head = f.read(36)
    if len(head) < 28 or head[:4] != b"RIFF" or head[8:16] != b"WAVEfmt ":
        return None
    return int.from_bytes(head[24:28], "little")


def read_audio(path: Path, sample_rate: int | None = None, max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Decode `path` into a float32 mono waveform in [-1, 1].

    Args:
        path: a .wav, .flac or .ogg file.
        sample_rate: int or None. Resample to this rate; None keeps the file's.
        max_seconds: float. Longer files are refused from their header.

    Returns:
        (waveform of shape [samples], sample rate).
    """
    import soundfile as sf

    rate, _, seconds = audio_info(path)
    if seconds > max_seconds:
        raise DataError(f"{path} is {seconds:.0f} s long; the limit is {max_seconds:.0f} s")
    try:
        wave, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError, ValueError) as exc:
        raise DataError(f"could not decode {path} as audio: {first_line(exc)}") from None
    if wave.size == 0:
        raise DataError(f"{path} holds no audio samples")
    wave = wave.mean(axis=1)
    if not np.isfinite(wave).all():
        raise DataError(f"{path} holds samples that are not finite numbers")
    if sample_rate and sample_rate != rate:
        wave = resample(wave, rate, sample_rate)
    return wave.astype(np.float32), int(sample_rate or rate)


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling of a 1-D waveform from `rate` to `target` Hz."""
    from scipy.signal import resample_poly

    if rate <= 0 or target <= 0:
        raise ValueError(f"sample rates must be positive. Received: rate={rate}, target={target}")
    if rate == target:
        return wave
    g = gcd(rate, target)
    return resample_poly(wave, target // g, rate // g).astype(np.float32)


def write_audio(path: Path, wave: np.ndarray, sample_rate: int) -> Path:
    """Write a mono float waveform as 16-bit PCM WAV (atomically)."""
    import os
    import tempfile

    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".wav")
    os.close(fd)
    try:
        sf.write(tmp, np.clip(np.asarray(wave, np.float32), -1.0, 1.0), int(sample_rate), subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
