import json
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from domains.speech import synthetic
from domains.speech.sources import read_keyword_folder, read_transcripts
from shared.data import espeak
from shared.data.generated import MARKER
from shared.errors import DataError

needs_espeak = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")
WORDS = ["yes", "no", "cat"]


def files_of(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("kw") / "a"
    synthetic.generate_keyword_dataset(root, seed=7, words=WORDS, speakers=3, clips_per_speaker=1, noise_seconds=5.0)
    return root


def test_word_lists_are_disjoint_and_small():
    keywords, unknown, pretraining = set(synthetic.DEMO_KEYWORDS), set(synthetic.DEMO_UNKNOWN_WORDS), set(espeak.PRETRAINING_WORDS)
    assert len(keywords) == len(synthetic.DEMO_KEYWORDS) <= 10
    assert len(unknown) == len(synthetic.DEMO_UNKNOWN_WORDS) >= 5
    assert not keywords & unknown and not keywords & pretraining and not unknown & pretraining


def test_sentences_are_three_to_six_plain_words():
    rng = np.random.default_rng(0)
    made = [synthetic.sentence(rng) for _ in range(500)]
    assert all(re.fullmatch(r"[a-z']+( [a-z']+){2,5}", s) for s in made), [s for s in made if not re.fullmatch(r"[a-z']+( [a-z']+){2,5}", s)]
    assert len(set(made)) > 200
    assert {w for s in made for w in s.split()} <= set(synthetic.DEMO_SENTENCE_WORDS)


@needs_espeak
def test_layout_rate_length_and_speakers(tiny):
    clips = sorted(p for p in tiny.rglob("*.wav") if synthetic.NOISE_FOLDER not in p.parts)
    assert sorted({p.parent.name for p in clips}) == sorted(WORDS)
    assert len(clips) == 3 * 3
    for path in clips:
        assert re.fullmatch(r"[0-9a-f]{8}_nohash_0\.wav", path.name)
        info = sf.info(str(path))
        assert info.samplerate == 16_000 and info.frames == 16_000 and info.channels == 1
    wave, _ = sf.read(str(clips[0]))
    assert 0.05 < np.abs(wave).max() <= 1.0
    noise = sorted(p.stem for p in (tiny / synthetic.NOISE_FOLDER).glob("*.wav"))
    assert noise == sorted(synthetic.NOISE_KINDS)
    assert sum(sf.info(str(p)).duration for p in (tiny / synthetic.NOISE_FOLDER).glob("*.wav")) == pytest.approx(5.0, abs=0.1)
    info = json.loads((tiny / synthetic.DESCRIPTION).read_text())
    assert info["synthetic"] is True and "synthetic" in (tiny / synthetic.NOTE).read_text().lower()
    # One speaker id per voice and variant: three different voice/variant pairs, three ids.
    ids = {p.name.split("_nohash_")[0] for p in clips}
    pairs = {(s["voice"], s["variant"]) for s in info["speakers"]}
    assert len(ids) == 3 and len(pairs) == 3
    assert ids == {espeak.speaker_id(v, var) for v, var in pairs}


@needs_espeak
def test_speech_sits_inside_the_clip_above_the_noise(tiny):
    for path in sorted((tiny / "yes").glob("*.wav")):
        wave, _ = sf.read(str(path))
        frames = wave.reshape(50, -1)
        energy = (frames**2).mean(axis=1)
        assert energy.max() > 3 * np.median(energy)  # a word, not only noise


@needs_espeak
def test_same_seed_same_bytes_other_seed_differs(tiny, tmp_path):
    again = synthetic.generate_keyword_dataset(tmp_path / "b", seed=7, words=WORDS, speakers=3, clips_per_speaker=1, noise_seconds=5.0)
    assert files_of(tiny) == files_of(again)
    other = synthetic.generate_keyword_dataset(tmp_path / "c", seed=8, words=WORDS, speakers=3, clips_per_speaker=1, noise_seconds=5.0)
    first, second = files_of(tiny), files_of(other)
    assert first.keys() == second.keys()
    assert first["yes/" + sorted(p.name for p in (tiny / "yes").iterdir())[0]] != second["yes/" + sorted(p.name for p in (other / "yes").iterdir())[0]]


@needs_espeak
def test_generated_folder_reads_as_a_synthetic_keyword_folder(tiny):
    listing = read_keyword_folder(tiny, ["yes", "no"])
    assert set(listing.clips["label"]) == {"yes", "no", "_unknown_"}
    assert listing.clips["speaker"].nunique() == 3
    assert len(listing.noise_files) == len(synthetic.NOISE_KINDS)
    assert "synthetic" in listing.provenance["source"] and listing.provenance["synthetic"]
    assert set(listing.clips["split"]) == {"train", "validation", "test"}


@needs_espeak
def test_demo_folder_is_generated_once_into_the_cache(tmp_path, monkeypatch):
    calls = []
    real = synthetic.generate_keyword_dataset

    def counting(folder, seed, **kwargs):
        calls.append(seed)
        return real(folder, seed, words=WORDS, noise_seconds=5.0, **kwargs)

    monkeypatch.setattr(synthetic, "generate_keyword_dataset", counting)
    first = synthetic.demo_keyword_folder(speakers=3, clips_per_speaker=1, seed=2, root=tmp_path)
    second = synthetic.demo_keyword_folder(speakers=3, clips_per_speaker=1, seed=2, root=tmp_path)
    assert first == second and calls == [2]
    assert first.name.startswith("speech-keywords-") and (first / MARKER).is_file() and (first / synthetic.DESCRIPTION).is_file()


@needs_espeak
def test_long_recording_truth_matches_the_audio(tmp_path):
    path = synthetic.generate_long_recording(tmp_path / "long.wav", seed=3, seconds=12.0)
    info = sf.info(str(path))
    assert info.samplerate == 16_000 and info.frames == 12 * 16_000
    truth = pd.read_csv(path.with_suffix(".csv"))
    assert list(truth.columns) == ["keyword", "start", "end"]
    assert len(truth) >= 2 and set(truth["keyword"]) <= set(synthetic.DEMO_KEYWORDS)
    assert (truth["start"] >= 0).all() and (truth["end"] <= 12.0).all()
    np.testing.assert_allclose(truth["end"] - truth["start"], 1.0, atol=1e-3)
    assert (truth["start"].to_numpy()[1:] >= truth["end"].to_numpy()[:-1]).all()
    wave, rate = sf.read(str(path))
    frames = (wave[: len(wave) // 1600 * 1600].reshape(-1, 1600) ** 2).mean(axis=1)  # 0.1 s frames
    inside = np.zeros(len(frames), bool)
    for start, end in zip(truth["start"], truth["end"]):
        inside[int(start * 10) : int(end * 10)] = True
    assert frames[inside].max() > 5 * np.median(frames)
    assert synthetic.generate_long_recording(tmp_path / "again.wav", seed=3, seconds=12.0).read_bytes() == path.read_bytes()


@needs_espeak
def test_long_recording_speakers_are_held_out():
    training = {s.id for s in espeak.speakers(24, seed=0)}
    held = {s.id for s in espeak.speakers(synthetic.LONG_SPEAKERS, seed=0, held_out=True)}
    assert not training & held


@needs_espeak
def test_sentences_parse_with_read_transcripts_and_split_by_speaker(tmp_path):
    root = synthetic.generate_sentences(tmp_path / "s", seed=1, sentences=24, speakers=4)
    lines = (root / "metadata.csv").read_text().splitlines()
    assert len(lines) == 24 and all(len(line.split("|")) == 3 for line in lines)
    data = read_transcripts(root)
    frame = data.frame
    assert len(frame) == 24 and frame["speaker"].nunique() == 4
    assert all(re.fullmatch(r"[a-z']+( [a-z']+){2,5}", t) for t in frame["transcript"])
    assert (frame.groupby("speaker")["split"].nunique() == 1).all()
    assert set(frame["split"]) == {"train", "validation", "test"}
    assert "synthetic" in data.provenance["source"]
    for path in frame["path"][:3]:
        info = sf.info(path)
        assert info.samplerate == 16_000 and 0.5 < info.duration < 6.0
    again = synthetic.generate_sentences(tmp_path / "t", seed=1, sentences=24, speakers=4)
    assert files_of(root) == files_of(again)


def test_without_espeak_the_demo_sets_say_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    for make in (synthetic.demo_keyword_folder, synthetic.demo_sentence_folder):
        with pytest.raises(DataError) as info:
            make(root=tmp_path)
        assert "\n" not in str(info.value) and "apt-get install espeak-ng" in str(info.value)
    with pytest.raises(DataError, match="espeak-ng is not installed"):
        synthetic.generate_keyword_dataset(tmp_path / "k", seed=0, words=WORDS, speakers=3, clips_per_speaker=1)
    assert not list(tmp_path.iterdir())
