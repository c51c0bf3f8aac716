import hashlib
import shutil

import numpy as np
import pytest

from shared.data import espeak
from shared.errors import DataError

needs_espeak = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")


def test_available_follows_the_path(monkeypatch):
    assert espeak.available() == (shutil.which("espeak-ng") is not None)
    monkeypatch.setenv("PATH", "")
    assert not espeak.available()


def test_missing_executable_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(DataError) as info:
        espeak.speak("yes")
    message = str(info.value)
    assert "\n" not in message
    assert "espeak-ng is not installed" in message and "apt-get install espeak-ng" in message


def test_speaker_ids_are_stable_hashes_of_voice_and_variant():
    assert espeak.speaker_id("en-us", "f2") == hashlib.sha1(b"en-us+f2").hexdigest()[:8]
    assert espeak.speaker_id("en-us", None) == hashlib.sha1(b"en-us").hexdigest()[:8]
    assert espeak.speaker_id("en-us", "f2") != espeak.speaker_id("en-us", "f3") != espeak.speaker_id("en-gb", "f3")


def test_speakers_are_distinct_voice_variant_pairs_with_seeded_speed_and_pitch():
    voices = list(espeak.ENGLISH_VOICES)
    everyone = espeak.speakers(len(voices) * len(espeak.VARIANTS), seed=0, voices=voices)
    assert len(everyone) == 208
    assert len({(s.voice, s.variant) for s in everyone}) == len(everyone)
    assert len({s.id for s in everyone}) == len(everyone)
    assert all(s.id == espeak.speaker_id(s.voice, s.variant) and len(s.id) == 8 for s in everyone)
    assert all(espeak.SPEED_RANGE[0] <= s.speed <= espeak.SPEED_RANGE[1] for s in everyone)
    assert all(espeak.PITCH_RANGE[0] <= s.pitch <= espeak.PITCH_RANGE[1] for s in everyone)
    # The first speakers cover every voice, and plain male and female variants come first.
    first = espeak.speakers(len(voices), seed=0, voices=voices)
    assert {s.voice for s in first} == set(voices)
    assert all(s.variant in espeak.VARIANTS[: espeak.PRIMARY_VARIANTS] for s in espeak.speakers(104, seed=0, voices=voices))
    assert espeak.speakers(24, seed=3, voices=voices) == espeak.speakers(24, seed=3, voices=voices)
    other = espeak.speakers(24, seed=4, voices=voices)
    assert [s.id for s in other] == [s.id for s in espeak.speakers(24, seed=3, voices=voices)]
    assert [(s.speed, s.pitch) for s in other] != [(s.speed, s.pitch) for s in espeak.speakers(24, seed=3, voices=voices)]
    with pytest.raises(ValueError, match="must be 1-208"):
        espeak.speakers(209, seed=0, voices=voices)


def test_held_out_speakers_differ_from_training_speakers():
    voices = list(espeak.ENGLISH_VOICES)
    train = {s.id for s in espeak.speakers(90, seed=0, voices=voices)}
    held = {s.id for s in espeak.speakers(14, seed=0, voices=voices, held_out=True)}
    assert len(held) == 14 and not train & held


def test_pretraining_words_are_distinct_words():
    words = espeak.PRETRAINING_WORDS
    assert len(words) == len(set(words)) >= 25
    assert all(w.isalpha() and w == w.lower() for w in words)


def test_invalid_arguments_are_refused_before_running():
    for kwargs in ({"text": ""}, {"text": "x" * 3000}, {"text": "a", "speed": 20}, {"text": "a", "pitch": 120}, {"text": "a", "voice": "en us; rm"}):
        with pytest.raises(ValueError):
            espeak.speak(**kwargs)


@needs_espeak
def test_speak_gives_16khz_float32_speech_deterministically():
    wave = espeak.speak("left", voice="en-us", variant="f2", speed=150, pitch=60)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert 0.2 < len(wave) / 16_000 < 1.5
    assert 0.05 < np.abs(wave).max() <= 1.0
    np.testing.assert_array_equal(wave, espeak.speak("left", voice="en-us", variant="f2", speed=150, pitch=60))
    slower = espeak.speak("left", voice="en-us", variant="f2", speed=90, pitch=60)
    assert len(slower) > len(wave)
    at_8k = espeak.speak("left", voice="en-us", variant="f2", speed=150, pitch=60, sample_rate=8_000)
    assert abs(len(at_8k) * 2 - len(wave)) <= 2


@needs_espeak
def test_voices_and_variants_sound_different():
    a = espeak.speak("stop", voice="en-us", variant="m1")
    b = espeak.speak("stop", voice="en-us", variant="f3")
    c = espeak.speak("stop", voice="en-gb-scotland", variant="m1")
    assert not np.array_equal(a[: min(len(a), len(b))], b[: min(len(a), len(b))])
    assert not np.array_equal(a[: min(len(a), len(c))], c[: min(len(a), len(c))])


@needs_espeak
def test_text_is_spoken_never_run_or_read_as_options(tmp_path):
    marker = tmp_path / "ran"
    for text in (f"$(touch {marker})", f"; touch {marker}", "--version", "-w /tmp/x.wav"):
        wave = espeak.speak(text)
        assert len(wave) > 1_000
    assert not marker.exists()


@needs_espeak
def test_unknown_voice_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="espeak-ng failed"):
        espeak.speak("yes", voice="zzqx")


@needs_espeak
def test_installed_english_voices_and_version():
    voices = espeak.english_voices()
    assert "en-us" in voices and set(voices) <= set(espeak.ENGLISH_VOICES)
    assert espeak.version()[0].isdigit()
