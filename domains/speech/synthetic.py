"""The synthetic demo data: keyword clips, a long recording and transcribed sentences, spoken by espeak-ng.

- `generate_keyword_dataset`: one-second clips in the Speech Commands
  layout (`<word>/<speaker>_nohash_<n>.wav`) with background noise mixed in,
  plus `_background_noise_/` recordings (white, pink and brown noise, mains
  hum, babble);
- `generate_long_recording`: a WAV of keywords and other words at known
  times over background noise, with a `keyword,start,end` truth CSV;
- `generate_sentences`: short sentences from a small grammar in the
  LJSpeech layout (`wavs/<id>.wav`, `metadata.csv`), with `speakers.csv`;
- `demo_keyword_folder`, `demo_sentence_folder`: those sets generated once
  into the data cache (`shared.data.generated`).

Every speaker is one espeak-ng voice and variant (`shared.data.espeak`), so
speaker ids are the same on every machine and splits by speaker are real
splits by voice. The same seed gives byte-identical files on the same
espeak-ng version. Nothing is downloaded. The speech is synthetic: a model
trained on it does not recognise real voices reliably.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from domains.speech.config import SAMPLE_RATE
from shared.data import espeak
from shared.data.generated import generated_dir
from shared.errors import DataError
from shared.inputs.audio import write_audio
from shared.progress import track

DEMO_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DEMO_UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow")
NOISE_FOLDER = "_background_noise_"
NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")
DESCRIPTION = "synthetic.json"  # what generated the folder; marks it as synthetic for `sources`
NOTE = "README.txt"
GENERATOR = 1  # bump when the generated audio changes, so cached sets are regenerated

CLIP_SNR_DB = (5.0, 30.0)  # background noise mixed into each keyword clip
SENTENCE_SNR_DB = (20.0, 40.0)
PEAK_DB = (-20.0, -1.0)  # random gain: the peak level of each clip, in dBFS
SPEED_JITTER = 0.06  # per clip, a share of the speaker's speed
PITCH_JITTER = 4
TRIM = 0.01  # of the peak: quieter leading and trailing samples are espeak-ng's silence
LONG_SPEAKERS = 8
UNKNOWN_SHARE = 0.3  # of the words in a long recording

# Babble: overlapping voices saying everyday words that are none of the demo words.
_BABBLE_WORDS = (
    "the", "and", "people", "morning", "really", "think", "would", "about", "because", "little", "never", "maybe",
    "coffee", "friday", "weather", "lunch", "meeting", "later", "today", "actually", "there", "something", "okay", "well",
)  # fmt: skip

# The sentence grammar: short plain sentences of 3-6 words, lowercase letters, spaces and apostrophes.
_SUBJECTS = ("i", "we", "you", "they", "she", "he")
_VERBS = ("see", "like", "want", "need", "find", "have", "open", "move")
_VERBS_S = ("sees", "likes", "wants", "needs", "finds", "has", "opens", "moves")
_ADJECTIVES = ("red", "big", "small", "old", "new", "green", "warm", "cold", "quiet", "happy")
_NOUNS = ("dog", "cat", "house", "car", "book", "door", "cup", "tree", "box", "bird", "chair", "boat")
_PLACES = ("home", "outside", "there", "here", "away", "inside")
_ADVERBS = ("now", "today", "again", "slowly", "quickly", "later")
_CONTRACTIONS = ("i'm", "we're", "you're", "they're", "she's", "he's")
_NEGATIONS = ("can't", "don't", "won't", "didn't")
_TEMPLATES = (
    ("SUBJ", "VERB", "the", "NOUN"),
    ("SUBJ", "VERB", "the", "ADJ", "NOUN"),
    ("the", "NOUN", "is", "ADJ"),
    ("the", "ADJ", "NOUN", "is", "PLACE"),
    ("SUBJ", "NEG", "VERB", "the", "NOUN"),
    ("CONTR", "going", "PLACE"),
    ("CONTR", "going", "PLACE", "ADV"),
    ("the", "NOUN", "VERBS", "a", "NOUN"),
    ("where", "is", "the", "NOUN"),
    ("where", "is", "my", "ADJ", "NOUN"),
    ("please", "VERB", "the", "NOUN", "ADV"),
    ("it's", "a", "ADJ", "NOUN"),
)
_SLOTS = {
    "SUBJ": _SUBJECTS, "VERB": _VERBS, "VERBS": _VERBS_S, "ADJ": _ADJECTIVES, "NOUN": _NOUNS,
    "PLACE": _PLACES, "ADV": _ADVERBS, "CONTR": _CONTRACTIONS, "NEG": _NEGATIONS,
}  # fmt: skip
DEMO_SENTENCE_WORDS = tuple(sorted({w for t in _TEMPLATES for slot in t for w in _SLOTS.get(slot, (slot,))}))


def sentence(rng: np.random.Generator) -> str:
    """One sentence of the demo grammar, e.g. `"we can't open the door"`."""
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    return " ".join(_SLOTS[slot][int(rng.integers(len(_SLOTS[slot])))] if slot in _SLOTS else slot for slot in template)


# --- noise ---------------------------------------------------------------------------


def _coloured(rng: np.random.Generator, samples: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power falling as 1 / f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples)
    freqs[0] = freqs[1] if samples > 1 else 1.0
    wave = np.fft.irfft(spectrum / freqs ** (exponent / 2), n=samples)
    wave -= wave.mean()
    return (wave / (np.sqrt(np.mean(wave**2)) + 1e-12)).astype(np.float32)


def _hum(rng: np.random.Generator, samples: int, rate: int) -> np.ndarray:
    """Mains hum: a 50 or 60 Hz tone with decaying harmonics and a little hiss, unit RMS."""
    t = np.arange(samples) / rate
    base = 50.0 if rng.random() < 0.5 else 60.0
    wave = np.zeros(samples)
    for k in range(1, 7):
        wave += rng.uniform(0.3, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
    wave += 0.05 * rng.standard_normal(samples)
    return (wave / np.sqrt(np.mean(wave**2))).astype(np.float32)


def _trim(wave: np.ndarray) -> np.ndarray:
    """The speech part of an espeak-ng waveform: leading and trailing near-silence removed."""
    loud = np.flatnonzero(np.abs(wave) > TRIM * (np.abs(wave).max() + 1e-12))
    return wave[loud[0] : loud[-1] + 1] if len(loud) else wave


def _babble(rng: np.random.Generator, samples: int, rate: int, pool: list, voices: int = 6, workers: int | None = None) -> np.ndarray:
    """`voices` overlapping streams of everyday phrases from random speakers of `pool`, unit RMS."""
    plans = []
    for stream in range(voices):
        position = int(rng.uniform(0, 0.5) * rate)
        while position < samples:
            words = [_BABBLE_WORDS[int(i)] for i in rng.integers(len(_BABBLE_WORDS), size=int(rng.integers(3, 7)))]
            who = pool[int(rng.integers(len(pool)))]
            plans.append((stream, position, " ".join(words), who))
            position += int(rng.uniform(1.2, 2.2) * rate)  # phrases overlap within one stream too
    texts = [(text, who.voice, who.variant, who.speed, who.pitch, rate) for _, _, text, who in plans]
    out = np.zeros(samples, np.float64)
    for (_, position, _, _), wave in zip(plans, _speak_all(texts, "babble", workers, show=False)):
        part = _trim(wave)[: samples - position]
        out[position : position + len(part)] += part / (np.abs(part).max() + 1e-12)
    out -= out.mean()
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


def _noise(kind: str, rng: np.random.Generator, samples: int, rate: int, babble: np.ndarray | None = None) -> np.ndarray:
    if kind == "white":
        return _coloured(rng, samples, 0.0)
    if kind == "pink":
        return _coloured(rng, samples, 1.0)
    if kind == "brown":
        return _coloured(rng, samples, 2.0)
    if kind == "hum":
        return _hum(rng, samples, rate)
    if kind == "babble" and babble is not None and len(babble) > samples:
        start = int(rng.integers(0, len(babble) - samples))
        return babble[start : start + samples]
    raise ValueError(f"unknown noise kind {kind!r}")


def _write_noise(folder: Path, rng: np.random.Generator, seconds: float, rate: int, babble_pool: list, workers: int | None) -> list[Path]:
    """`_background_noise_/<kind>.wav`, one recording per kind of `NOISE_KINDS`, `seconds` in all."""
    each = max(int(seconds / len(NOISE_KINDS) * rate), rate)
    paths = []
    for kind in NOISE_KINDS:
        part = np.random.default_rng(rng.integers(2**63))
        wave = _babble(part, each, rate, babble_pool, workers=workers) if kind == "babble" else _noise(kind, part, each, rate)
        paths.append(write_audio(folder / f"{kind}.wav", 0.1 * wave / max(1.0, 0.1 * float(np.abs(wave).max()) / 0.95), rate))
    return paths


# --- speech --------------------------------------------------------------------------


def _speak_one(job: tuple) -> np.ndarray:
    text, voice, variant, speed, pitch, rate = job
    return espeak.speak(text, voice, variant, speed, pitch, rate)


def _workers(workers: int | None) -> int:
    return max(1, int(workers)) if workers else min(8, (os.cpu_count() or 1) + 1)


def _speak_all(jobs: list[tuple], desc: str, workers: int | None, show: bool = True) -> list[np.ndarray]:
    """espeak-ng waveforms of every job, in order, several processes at a time."""
    if not espeak.available():
        raise DataError(espeak.MISSING)
    with ThreadPoolExecutor(_workers(workers)) as pool:
        results = pool.map(_speak_one, jobs)
        if show:
            results = track(results, desc, total=len(jobs), unit="clip")
        return list(results)


def _jitter(who: espeak.Speaker, rng: np.random.Generator) -> tuple[int, int]:
    """A clip's speed and pitch: the speaker's own, varied a little."""
    speed = int(round(who.speed * rng.uniform(1 - SPEED_JITTER, 1 + SPEED_JITTER)))
    pitch = int(np.clip(who.pitch + rng.integers(-PITCH_JITTER, PITCH_JITTER + 1), 0, 99))
    return speed, pitch


def _place(speech: np.ndarray, samples: int, shift: float) -> tuple[np.ndarray, int]:
    """Speech in a clip of `samples`: centred, moved by `shift` (-1..1) of the free space; (clip, start)."""
    speech = _trim(speech)
    if len(speech) > samples:
        start = (len(speech) - samples) // 2
        return speech[start : start + samples].copy(), 0
    free = samples - len(speech)
    start = int(round(free / 2 + shift * free / 2))
    start = min(max(start, 0), free)
    clip = np.zeros(samples, np.float32)
    clip[start : start + len(speech)] = speech
    return clip, start


def _mix(speech: np.ndarray, noise: np.ndarray, snr_db: float, speech_rms: float) -> np.ndarray:
    noise_rms = float(np.sqrt(np.mean(noise**2))) + 1e-12
    return speech + noise * (speech_rms / noise_rms) * 10 ** (-snr_db / 20)


def _level(wave: np.ndarray, peak_db: float) -> np.ndarray:
    """`wave` scaled so that its peak is at `peak_db` dBFS."""
    return (wave * (10 ** (peak_db / 20) / (np.abs(wave).max() + 1e-12))).astype(np.float32)


def _describe(root: Path, what: str, settings: dict, speakers: list[espeak.Speaker]) -> None:
    info = {
        "synthetic": True,
        "what": what,
        "generator": f"domains.speech.synthetic (version {GENERATOR}) with espeak-ng {espeak.version()}",
        "settings": settings,
        "speakers": [asdict(s) for s in speakers],
    }
    (root / DESCRIPTION).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    (root / NOTE).write_text(
        f"Synthetic speech: {what}.\n"
        "Every clip was spoken by espeak-ng voices (each speaker id is one voice and variant), not by people.\n"
        "Models trained on it do not recognise real voices reliably. See synthetic.json for the settings.\n"
    )


def _check_words(words: Sequence[str], what: str) -> list[str]:
    words = [str(w) for w in words]
    bad = [w for w in words if not w or not all(c.isalpha() or c == "'" for c in w) or w != w.lower()]
    if bad:
        raise ValueError(f"`{what}` must be lowercase words (letters and apostrophes). Received: {bad}")
    if len(set(words)) != len(words):
        raise ValueError(f"`{what}` must not repeat a word. Received: {words}")
    return words


def generate_keyword_dataset(
    root: Path,
    seed: int,
    words: Sequence[str] | None = None,
    speakers: int = 24,
    clips_per_speaker: int = 2,
    noise_seconds: float = 60.0,
    snr_db: tuple[float, float] = CLIP_SNR_DB,
    sample_rate: int = SAMPLE_RATE,
    held_out: bool = False,
    workers: int | None = None,
) -> Path:
    """Write one-second keyword clips in the Speech Commands layout.

    `root/<word>/<speaker id>_nohash_<n>.wav`: each clip holds the word at
    a random offset around the centre and a random gain (peak -20 to -1
    dBFS), with white, pink or brown noise, hum or babble mixed in at a
    random SNR. `root/_background_noise_/` holds one recording of each kind
    of noise, `noise_seconds` in all. `README.txt` and `synthetic.json` say
    the data is synthetic and how it was made.

    Args:
        root: Path. The folder to write (created; existing files are overwritten).
        seed: int. The same seed writes byte-identical files.
        words: list of str or None. Defaults to `DEMO_KEYWORDS` then
            `DEMO_UNKNOWN_WORDS` (20 words).
        speakers: int. Distinct espeak-ng voice and variant pairs (1-208).
            Defaults to `24`.
        clips_per_speaker: int. Clips of each word per speaker. Defaults to `2`.
        noise_seconds: float. Seconds of `_background_noise_` recordings in
            all. Defaults to `60.0`.
        snr_db: (low, high). Range of the speech-to-noise ratio of each clip,
            in dB. Defaults to `(5.0, 30.0)`.
        sample_rate: int. Defaults to `16000`.
        held_out: bool. Draw speakers from the other end of the speaker pool
            (`shared.data.espeak.speaker_pool`): they differ from those of a
            set written with `held_out=False` while the two sets have at most
            104 speakers together. Defaults to `False`.
        workers: int or None. espeak-ng processes run at once. Defaults to
            the number of CPUs plus one (at most 8).

    Returns:
        Path: `root`.
    """
    words = _check_words(words if words is not None else (*DEMO_KEYWORDS, *DEMO_UNKNOWN_WORDS), "words")
    if NOISE_FOLDER in words or not words:
        raise ValueError(f"`words` must be non-empty and must not contain {NOISE_FOLDER!r}. Received: {words}")
    if int(clips_per_speaker) < 1:
        raise ValueError(f"`clips_per_speaker` must be at least 1. Received: clips_per_speaker={clips_per_speaker}")
    if not 0 < noise_seconds <= 3600:
        raise ValueError(f"`noise_seconds` must be in (0, 3600]. Received: noise_seconds={noise_seconds}")
    root = Path(root)
    rng = np.random.default_rng([int(seed) % 2**63, 0x4B57])
    who = espeak.speakers(int(speakers), seed, held_out=held_out)
    samples = int(sample_rate)
    plan = []
    for word in words:
        for person in who:
            for n in range(int(clips_per_speaker)):
                speed, pitch = _jitter(person, rng)
                plan.append({
                    "path": root / word / f"{person.id}_nohash_{n}.wav", "job": (word, person.voice, person.variant, speed, pitch, sample_rate),
                    "shift": rng.uniform(-0.8, 0.8), "snr": rng.uniform(*snr_db), "peak": rng.uniform(*PEAK_DB),
                    "noise": NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))], "noise_seed": int(rng.integers(2**63)),
                })  # fmt: skip
    babble = _babble(np.random.default_rng(rng.integers(2**63)), 12 * samples, sample_rate, who, workers=workers)
    waves = _speak_all([p["job"] for p in plan], f"speaking {len(plan)} keyword clips", workers)

    def render(item) -> Path:
        p, speech = item
        clip, start = _place(speech, samples, p["shift"])
        voiced = clip[start : start + len(_trim(speech))]
        rms = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else 1.0
        noise = _noise(p["noise"], np.random.default_rng(p["noise_seed"]), samples, sample_rate, babble)
        return write_audio(p["path"], _level(_mix(clip, noise, p["snr"], rms), p["peak"]), sample_rate)

    with ThreadPoolExecutor(_workers(workers)) as pool:
        list(pool.map(render, zip(plan, waves)))
    _write_noise(root / NOISE_FOLDER, rng, noise_seconds, sample_rate, who, workers)
    settings = {
        "seed": int(seed), "words": words, "speakers": int(speakers), "clips_per_speaker": int(clips_per_speaker),
        "noise_seconds": float(noise_seconds), "snr_db": list(snr_db), "sample_rate": int(sample_rate), "held_out": bool(held_out),
    }  # fmt: skip
    _describe(root, f"one-second keyword clips, {len(words)} words x {len(who)} speakers x {clips_per_speaker} clips, with background noise", settings, who)
    return root


def generate_long_recording(
    path: Path,
    seed: int,
    seconds: float = 60.0,
    words: Sequence[str] | None = None,
    unknown_words: Sequence[str] | None = None,
    sample_rate: int = SAMPLE_RATE,
    speakers: int = LONG_SPEAKERS,
    workers: int | None = None,
) -> Path:
    """Write a recording of keywords and other words at known times over background noise.

    Words are placed one after another in one-second windows (the word
    inside at a random offset), with gaps of 0.3 to 1.5 s, over a bed of
    pink or brown noise, hum and faint babble; about 30% of them are
    `unknown_words`. The speakers come from the held-out end of the speaker
    pool, so they differ from those of `generate_keyword_dataset` (unless
    more than about 90 training speakers are used).

    `path.with_suffix(".csv")` is the truth: one row per keyword said, with
    columns `keyword`, `start`, `end` in seconds: the one-second window the
    word was placed in (other words are not listed).

    Args:
        path: Path. The `.wav` file to write.
        seed: int. The same seed writes byte-identical files.
        seconds: float. Length of the recording. Defaults to `60.0`.
        words: list of str or None. The keywords. Defaults to `DEMO_KEYWORDS`.
        unknown_words: list of str or None. Other words said in between.
            Defaults to `DEMO_UNKNOWN_WORDS` (less any of `words`).
        sample_rate: int. Defaults to `16000`.
        speakers: int. How many voices say the words. Defaults to `8`.
        workers: int or None. espeak-ng processes run at once.

    Returns:
        Path: the `.wav` file.
    """
    keywords = _check_words(words if words is not None else DEMO_KEYWORDS, "words")
    others = _check_words([w for w in (unknown_words if unknown_words is not None else DEMO_UNKNOWN_WORDS) if w not in keywords], "unknown_words")
    if not keywords:
        raise ValueError("`words` must name at least one keyword")
    if not 3.0 <= seconds <= 3600.0:
        raise ValueError(f"`seconds` must be 3-3600. Received: seconds={seconds}")
    path = Path(path)
    rng = np.random.default_rng([int(seed) % 2**63, 0x4C4F])
    who = espeak.speakers(int(speakers), seed, held_out=True)
    total, window = int(round(seconds * sample_rate)), int(sample_rate)
    events = []
    position = int(rng.uniform(0.3, 1.0) * sample_rate)
    while position + window <= total:
        unknown = bool(others) and rng.random() < UNKNOWN_SHARE
        word = others[int(rng.integers(len(others)))] if unknown else keywords[int(rng.integers(len(keywords)))]
        person = who[int(rng.integers(len(who)))]
        speed, pitch = _jitter(person, rng)
        events.append({"word": word, "keyword": not unknown, "start": position, "job": (word, person.voice, person.variant, speed, pitch, sample_rate),
                       "shift": rng.uniform(-0.6, 0.6), "snr": rng.uniform(10.0, 25.0), "level": rng.uniform(0.3, 0.9)})  # fmt: skip
        position += window + int(rng.uniform(0.3, 1.5) * sample_rate)
    bed = np.random.default_rng(rng.integers(2**63))
    noise = 0.8 * _coloured(bed, total, bed.choice([1.0, 2.0])) + 0.3 * _hum(bed, total, sample_rate)
    babble_seconds = min(seconds, 20.0)
    babble = _babble(bed, int(babble_seconds * sample_rate), sample_rate, who, voices=4, workers=workers)
    noise += 0.4 * np.tile(babble, int(np.ceil(total / len(babble))))[:total]
    noise_level = 0.02
    out = noise_level * noise / np.sqrt(np.mean(noise**2))
    rows = []
    for event, speech in zip(events, _speak_all([e["job"] for e in events], f"speaking {len(events)} words", workers, show=False)):
        clip, _ = _place(speech, window, event["shift"])
        voiced = _trim(speech)
        rms = float(np.sqrt(np.mean(voiced**2))) + 1e-12
        gain = noise_level * 10 ** (event["snr"] / 20) / rms  # speech RMS over the noise bed's RMS at the drawn SNR
        gain = min(gain, event["level"] / (np.abs(clip).max() + 1e-12))
        out[event["start"] : event["start"] + window] += gain * clip
        if event["keyword"]:
            rows.append({"keyword": event["word"], "start": round(event["start"] / sample_rate, 4), "end": round((event["start"] + window) / sample_rate, 4)})
    peak = float(np.abs(out).max())
    if peak > 0.99:
        out *= 0.99 / peak
    write_audio(path, out.astype(np.float32), sample_rate)
    pd.DataFrame(rows, columns=["keyword", "start", "end"]).to_csv(path.with_suffix(".csv"), index=False)
    return path


def generate_sentences(
    root: Path,
    seed: int,
    sentences: int = 600,
    speakers: int = 16,
    sample_rate: int = SAMPLE_RATE,
    held_out: bool = False,
    workers: int | None = None,
) -> Path:
    """Write short transcribed sentences in the LJSpeech layout.

    `root/wavs/<speaker id>_<n>.wav` (speech with 0.1-0.3 s of padding,
    light noise at 20-40 dB SNR, a random gain), `root/metadata.csv` with
    `id|transcript|normalized` rows (no header; both texts are the same:
    3-6 lowercase words, apostrophes allowed), and `root/speakers.csv`
    (`id,speaker`) so that speakers can be held out. Speakers take turns,
    so each says about `sentences / speakers` sentences.

    Args:
        root: Path. The folder to write.
        seed: int. The same seed writes byte-identical files.
        sentences: int. Defaults to `600`.
        speakers: int. Distinct espeak-ng voice and variant pairs. Defaults to `16`.
        sample_rate: int. Defaults to `16000`.
        held_out: bool. Draw speakers from the held-out end of the speaker pool.
        workers: int or None. espeak-ng processes run at once.

    Returns:
        Path: `root`.
    """
    if int(sentences) < 1:
        raise ValueError(f"`sentences` must be at least 1. Received: sentences={sentences}")
    root = Path(root)
    rng = np.random.default_rng([int(seed) % 2**63, 0x5345])
    who = espeak.speakers(int(speakers), seed, held_out=held_out)
    plan = []
    for i in range(int(sentences)):
        person = who[i % len(who)]
        speed, pitch = _jitter(person, rng)
        text = sentence(rng)
        plan.append({"id": f"{person.id}_{i // len(who):04d}", "speaker": person.id, "text": text, "job": (text, person.voice, person.variant, speed, pitch, sample_rate),
                     "pad": rng.uniform(0.1, 0.3, 2), "snr": rng.uniform(*SENTENCE_SNR_DB), "peak": rng.uniform(*PEAK_DB),
                     "noise": ("white", "pink", "brown")[int(rng.integers(3))], "noise_seed": int(rng.integers(2**63))})  # fmt: skip
    waves = _speak_all([p["job"] for p in plan], f"speaking {len(plan)} sentences", workers)

    def render(item) -> Path:
        p, speech = item
        speech = _trim(speech)
        left, right = (int(x * sample_rate) for x in p["pad"])
        clip = np.concatenate([np.zeros(left, np.float32), speech, np.zeros(right, np.float32)])
        noise = _noise(p["noise"], np.random.default_rng(p["noise_seed"]), len(clip), sample_rate)
        rms = float(np.sqrt(np.mean(speech**2))) + 1e-12
        return write_audio(root / "wavs" / f"{p['id']}.wav", _level(_mix(clip, noise, p["snr"], rms), p["peak"]), sample_rate)

    with ThreadPoolExecutor(_workers(workers)) as pool:
        list(pool.map(render, zip(plan, waves)))
    (root / "metadata.csv").write_text("".join(f"{p['id']}|{p['text']}|{p['text']}\n" for p in plan))
    (root / "speakers.csv").write_text("id,speaker\n" + "".join(f"{p['id']},{p['speaker']}\n" for p in plan))
    settings = {"seed": int(seed), "sentences": int(sentences), "speakers": int(speakers), "sample_rate": int(sample_rate), "held_out": bool(held_out)}
    _describe(root, f"{sentences} short sentences by {len(who)} speakers, LJSpeech layout", settings, who)
    return root


# --- cached demo sets ----------------------------------------------------------------


def demo_keyword_folder(speakers: int = 24, clips_per_speaker: int = 2, seed: int = 0, root: Path | None = None) -> Path:
    """The keyword demo set (`DEMO_KEYWORDS` and `DEMO_UNKNOWN_WORDS`), generated once into the data cache.

    Args:
        speakers, clips_per_speaker, seed: see `generate_keyword_dataset`.
        root: Path or None. The cache folder. Defaults to `shared.data.generated.cache_root()`.

    Returns:
        Path: the folder, in the Speech Commands layout.
    """
    if not espeak.available():
        raise DataError("the synthetic speech demo needs espeak-ng, which is not installed; on Debian/Ubuntu: apt-get install espeak-ng "
                        "(or set data.path to a folder of clips)")  # fmt: skip
    settings = {
        "speakers": int(speakers), "clips_per_speaker": int(clips_per_speaker), "seed": int(seed),
        "words": [*DEMO_KEYWORDS, *DEMO_UNKNOWN_WORDS], "sample_rate": SAMPLE_RATE, "generator": GENERATOR, "espeak_ng": espeak.version(),
    }  # fmt: skip
    return generated_dir("speech-keywords", settings, lambda folder: generate_keyword_dataset(folder, seed, speakers=speakers, clips_per_speaker=clips_per_speaker), root)


def demo_sentence_folder(sentences: int = 600, speakers: int = 16, seed: int = 0, root: Path | None = None) -> Path:
    """The sentence demo set (LJSpeech layout), generated once into the data cache."""
    if not espeak.available():
        raise DataError("the synthetic speech demo needs espeak-ng, which is not installed; on Debian/Ubuntu: apt-get install espeak-ng "
                        "(or set data.path to your transcribed audio)")  # fmt: skip
    settings = {"sentences": int(sentences), "speakers": int(speakers), "seed": int(seed), "sample_rate": SAMPLE_RATE, "generator": GENERATOR, "espeak_ng": espeak.version()}
    return generated_dir("speech-sentences", settings, lambda folder: generate_sentences(folder, seed, sentences=sentences, speakers=speakers), root)


def demo_examples(seed: int, sample_rate: int = SAMPLE_RATE) -> list[tuple[str, np.ndarray, pd.DataFrame | None]]:
    """Held-out audio for trying a model: `(label, waveform, truth or None)`, at `sample_rate`.

    Three keyword clips and one other word by held-out speakers, a clip of
    background noise (the `_silence_` class), a 20-second recording of
    keywords and other words (with where the keywords are: `word`, `start`,
    `end`, `is_keyword`), and two short sentences with their transcripts.
    """
    import tempfile

    from shared.inputs.audio import read_audio

    out: list[tuple[str, np.ndarray, pd.DataFrame | None]] = []
    with tempfile.TemporaryDirectory(prefix="dlsuite-speech-demo-") as folder:
        root = Path(folder)
        words = [*DEMO_KEYWORDS[:3], DEMO_UNKNOWN_WORDS[0]]
        clips = generate_keyword_dataset(root / "clips", seed=seed, words=words, speakers=3, clips_per_speaker=1, noise_seconds=12.0, held_out=True)
        for word in words:
            path = sorted((clips / word).glob("*.wav"))[0]
            kind = "keyword" if word in DEMO_KEYWORDS else "another word (_unknown_)"
            out.append((f"clip: {word!r}, {kind}, speaker {path.stem.split('_')[0]}", read_audio(path, sample_rate)[0], None))
        noise = sorted((clips / NOISE_FOLDER).glob("*.wav"))[0]
        out.append((f"clip: background noise ({noise.stem}, the _silence_ class)", read_audio(noise, sample_rate)[0][:sample_rate], None))
        long = generate_long_recording(root / "recording.wav", seed=seed, seconds=20.0)
        truth = pd.read_csv(long.with_suffix(".csv"))
        truth = pd.DataFrame({"word": truth["keyword"], "start": truth["start"], "end": truth["end"], "is_keyword": True})
        out.append(("recording: 20 s of keywords and other words over noise", read_audio(long, sample_rate)[0], truth))
        sentences = generate_sentences(root / "sentences", seed=seed, sentences=2, speakers=2, held_out=True)
        texts = pd.read_csv(sentences / "metadata.csv", sep="|", header=None, names=["id", "transcript", "normalized"], quoting=3)
        for row in texts.itertuples(index=False):
            out.append((f"sentence: {row.normalized!r}", read_audio(sentences / "wavs" / f"{row.id}.wav", sample_rate)[0], None))
    return out
