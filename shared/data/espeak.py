"""Synthetic speech from espeak-ng: waveforms of words and sentences, and a pool of distinct voices.

espeak-ng is a small formant synthesizer packaged by every Linux
distribution (`apt-get install espeak-ng`). Its built-in English voices
(`en-gb`, `en-us`, `en-gb-scotland`, ...) combined with its voice variants
(`m1`..`m8`, `f1`..`f5`, `klatt2`, `croak`, ...) give a couple of hundred
clearly different synthetic speakers, enough to build speaker-disjoint
demo sets without downloading anything:

    wave = speak("left", voice="en-us", variant="f2", speed=150, pitch=60)

Each call runs one `espeak-ng` process (no shell; the text goes in on
stdin, so it is never read as an option) and resamples its 22,050 Hz output
with `shared.inputs.audio.resample`. The same arguments give the same
samples on the same espeak-ng version (`version()`).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import struct
import subprocess
from dataclasses import dataclass

import numpy as np

from shared.errors import DataError
from shared.inputs.audio import resample

EXECUTABLE = "espeak-ng"
MISSING = "espeak-ng is not installed; on Debian/Ubuntu: apt-get install espeak-ng"
TIMEOUT_SECONDS = 30.0
MAX_TEXT = 2_000  # characters per call

# espeak-ng's own English voices (the `mb/...` voices need mbrola and are left out).
ENGLISH_VOICES = ("en-gb", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
# Voice variants (`voice+variant`), the plain male and female ones first. Every one
# of these gives different audio from the others (checked on espeak-ng 1.51).
VARIANTS = (
    "m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7", "m8",
    "klatt2", "Annie", "klatt3", "linda", "klatt4", "aunty", "croak", "steph", "Andy", "max", "david", "travis", "edward",
)  # fmt: skip
PRIMARY_VARIANTS = 13  # the first 13: m1..m8 and f1..f5
SPEED_RANGE = (135, 185)  # words per minute
PITCH_RANGE = (30, 70)  # espeak-ng's 0-99 scale

# Words for pretraining an audio backbone, disjoint from the keyword demo's
# keywords and unknown words (`domains.speech.synthetic`).
PRETRAINING_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "apple", "window", "yellow", "orange", "purple", "river", "mountain", "table", "chair", "music",
    "paper", "water", "garden", "pencil", "rocket", "forward", "backward", "follow", "learn", "visual",
)  # fmt: skip


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: an espeak-ng voice and variant, spoken at its own speed and pitch.

    Attributes:
        voice: str. An espeak-ng voice name, e.g. `"en-us"`.
        variant: str or None. A voice variant, e.g. `"f2"` (`voice+variant`).
        speed: int. Words per minute.
        pitch: int. 0-99.
        id: str. 8 hex digits, a stable hash of voice and variant (not of
            speed and pitch): the same voice and variant is the same speaker.
    """

    voice: str
    variant: str | None
    speed: int
    pitch: int
    id: str

    @property
    def name(self) -> str:
        """The `-v` argument: `voice+variant`, or the voice alone."""
        return f"{self.voice}+{self.variant}" if self.variant else self.voice


def speaker_id(voice: str, variant: str | None) -> str:
    """8 hex digits of the SHA-1 of `voice+variant`: the same on every machine."""
    name = f"{voice}+{variant}" if variant else voice
    return hashlib.sha1(name.encode()).hexdigest()[:8]


def available() -> bool:
    """True when the `espeak-ng` executable is on the PATH."""
    return shutil.which(EXECUTABLE) is not None


def _executable() -> str:
    path = shutil.which(EXECUTABLE)
    if path is None:
        raise DataError(MISSING)
    return path


@functools.lru_cache(maxsize=1)
def version() -> str:
    """espeak-ng's version line, e.g. `"1.51"` (part of the cache key of generated sets)."""
    out = _run([_executable(), "--version"], b"")
    words = out.decode(errors="replace").split()
    for i, word in enumerate(words):
        if word.rstrip(":") == "text-to-speech" and i + 1 < len(words):
            return words[i + 1]
    return " ".join(words[:6])


@functools.lru_cache(maxsize=1)
def _installed_english() -> tuple[str, ...]:
    out = _run([_executable(), "--voices=en"], b"").decode(errors="replace")
    found = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        # Pty Language Age/Gender VoiceName File [Other languages]
        if len(parts) >= 5 and not parts[4].startswith("mb/"):
            found.add(parts[1])
    return tuple(v for v in ENGLISH_VOICES if v in found)


def english_voices() -> list[str]:
    """The voices of `ENGLISH_VOICES` this espeak-ng installation has (all of them on 1.51)."""
    return list(_installed_english())


def _run(args: list[str], stdin: bytes) -> bytes:
    try:
        done = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise DataError(MISSING) from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"espeak-ng did not finish within {TIMEOUT_SECONDS:.0f} s: {' '.join(args[1:])}") from None
    message = done.stderr.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or (message and "Error" in message[0]):
        detail = message[0] if message else f"exit status {done.returncode}"
        raise RuntimeError(f"espeak-ng failed ({' '.join(args[1:])}): {detail}")
    return done.stdout


def _parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM samples and rate of espeak-ng's `--stdout` WAV (whose size fields are not filled in)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError("espeak-ng wrote no WAV data")
    pos, rate, bits, channels = 12, None, 16, 1
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body : body + 16])
        elif chunk == b"data":
            samples = data[body:]
            if rate is None or bits != 16:
                raise RuntimeError(f"espeak-ng wrote WAV data this reader does not handle ({bits}-bit, rate {rate})")
            samples = samples[: len(samples) // (2 * channels) * 2 * channels]
            wave = np.frombuffer(samples, "<i2").astype(np.float32) / 32768.0
            return wave.reshape(-1, channels).mean(axis=1), int(rate)
        pos = body + size + (size & 1)
    raise RuntimeError("espeak-ng wrote a WAV header without audio data")


def speak(text: str, voice: str = "en", variant: str | None = None, speed: int = 160, pitch: int = 50, sample_rate: int = 16_000) -> np.ndarray:
    """Synthesize `text` with espeak-ng.

    Args:
        text: str. What to say (plain text, at most 2,000 characters).
        voice: str. An espeak-ng voice, e.g. `"en-us"`. Defaults to `"en"`.
        variant: str or None. A voice variant, e.g. `"m3"` or `"f2"`.
        speed: int. Words per minute, 80-450. Defaults to `160`.
        pitch: int. 0-99. Defaults to `50`.
        sample_rate: int. Rate of the returned waveform. Defaults to `16000`.

    Returns:
        float32 mono waveform in [-1, 1], with espeak-ng's short leading and
        trailing silences.

    Raises:
        DataError: espeak-ng is not installed.
        RuntimeError: espeak-ng failed (an unknown voice, a timeout).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`text` must be a non-empty string. Received: text={text!r}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"`text` must be at most {MAX_TEXT} characters. Received: {len(text)} characters")
    if not 80 <= int(speed) <= 450:
        raise ValueError(f"`speed` must be 80-450 words per minute. Received: speed={speed}")
    if not 0 <= int(pitch) <= 99:
        raise ValueError(f"`pitch` must be 0-99. Received: pitch={pitch}")
    for name, value in (("voice", voice), ("variant", variant or "x")):
        if not value or not all(c.isalnum() or c in "-_" for c in value):
            raise ValueError(f"`{name}` must be an espeak-ng voice name (letters, digits, '-', '_'). Received: {name}={value!r}")
    name = f"{voice}+{variant}" if variant else voice
    args = [_executable(), "--stdin", "--stdout", "-v", name, "-s", str(int(speed)), "-p", str(int(pitch))]
    wave, rate = _parse_wav(_run(args, text.replace("\x00", " ").encode("utf-8")))
    if wave.size == 0:
        raise RuntimeError(f"espeak-ng produced no audio for {text[:40]!r} with voice {name}")
    return np.clip(resample(wave, rate, int(sample_rate)), -1.0, 1.0).astype(np.float32)


def speaker_pool(voices: list[str] | tuple[str, ...] | None = None, held_out: bool = False) -> list[tuple[str, str]]:
    """Every (voice, variant) pair in a fixed order that spreads voices and variants evenly.

    The order walks diagonals of the voice x variant grid, so the first
    speakers cover every voice, and the male and female variants alternate.
    The pairs with the 13 plain variants (m1..m8, f1..f5) come first; with
    `held_out=True` those pairs are listed from the other end, so a small
    held-out set of speakers shares no speaker with a training set drawn
    from the front (while the two together fit in the plain pairs).
    """
    voices = tuple(voices) if voices is not None else (tuple(english_voices()) if available() else ENGLISH_VOICES)
    if not voices:
        raise DataError("espeak-ng has none of its English voices installed (espeak-ng-data is incomplete)")

    def diagonal(variants: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(voices[v], variants[(v + d) % len(variants)]) for d in range(len(variants)) for v in range(len(voices))]

    primary = diagonal(VARIANTS[:PRIMARY_VARIANTS])
    extra = diagonal(VARIANTS[PRIMARY_VARIANTS:])
    return (primary[::-1] if held_out else primary) + extra


def speakers(n: int, seed: int, voices: list[str] | None = None, held_out: bool = False) -> list[Speaker]:
    """`n` distinct synthetic speakers (one per voice and variant), with speed and pitch drawn from `seed`.

    Args:
        n: int. How many, at most `len(voices) * len(VARIANTS)` (208 with
            espeak-ng 1.51's English voices).
        seed: int. Seeds the speed (135-185 words per minute) and pitch
            (30-70) of each speaker.
        voices: list of str or None. espeak-ng voices to combine with the
            variants. Defaults to the installed `ENGLISH_VOICES`.
        held_out: bool. Take speakers from the other end of the plain-variant
            pool (see `speaker_pool`).

    Returns:
        list of `Speaker`, the same for the same arguments and installation.
    """
    pool = speaker_pool(voices, held_out)
    if not 1 <= n <= len(pool):
        raise ValueError(f"`n` must be 1-{len(pool)} (voices times variants). Received: n={n}")
    rng = np.random.default_rng([int(seed) % 2**63, 0x5EE4])
    out = []
    for voice, variant in pool[:n]:
        speed = int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1))
        pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
        out.append(Speaker(voice, variant, speed, pitch, speaker_id(voice, variant)))
    return out
