"""Speech tasks end to end on tiny configs: train, reload safely, predict clips and recordings, explain, bad input."""

import json
import struct

import numpy as np
import pandas as pd
import pytest
from tests_support import one_error_line, run_cli

from domains.speech.task import quality_note
from shared.data import espeak
from shared.domain import get_task
from shared.inputs.audio import write_audio
from shared.runs import Run
from shared.training.runner import prepare_run, train

pytestmark = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")

RATE = 16_000


def train_tiny(path, task_name, *overrides):
    task = get_task("speech", task_name)
    other_type = any(o.startswith("model.type=") for o in overrides)
    quick = [o for o in task.quick_overrides if not (other_type and o.startswith("model."))]  # the CNN's sizes
    cfg = task.resolve_config(overrides=[*quick, *overrides])
    run_dir = prepare_run(task, cfg, path)
    train(task, cfg, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def keyword_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("speech") / "keywords", "keywords", "trainer.epochs=2")


@pytest.fixture(scope="module")
def asr_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("speech") / "transcribe", "transcribe")


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return get_task("speech", "keywords").write_examples(tmp_path_factory.mktemp("speech_examples"))


def tone(seconds, rate=RATE, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype("float32")


def test_keyword_run_reports_every_figure(keyword_run):
    metrics = json.loads((keyword_run / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "confusion_matrix", "per_class", "held_out_speakers", "baseline", "beats_baseline", "latency", "streaming"} <= set(metrics)
    assert metrics["held_out_speakers"]["clips"] > 0 and "training_speakers" in metrics
    assert 0 <= metrics["baseline"]["accuracy"] <= 1
    s = metrics["streaming"]
    assert {"recall", "false_alarms_per_hour", "thresholds", "real_time_factor"} <= set(s)
    assert set(s["thresholds"]) == set(Run.open(keyword_run).state["keywords"])
    assert metrics["latency"]["ms_per_clip"] > 0
    for name in ("confusion_matrix.png", "streaming.png", "model_card.md"):
        assert (keyword_run / name).is_file(), name
    card = (keyword_run / "model_card.md").read_text()
    assert "synthetic" in card.lower() and "espeak-ng" in card
    classes = Run.open(keyword_run).state["classes"]
    assert classes[-2:] == ["_silence_", "_unknown_"]


def test_predict_clips_and_a_long_recording(capsys, tmp_path, keyword_run, examples):
    code, out, err = run_cli(capsys, "predict", keyword_run, *examples.predict, "--output", tmp_path / "p.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["path", "start", "end", "keyword", "score", "top", "note"]
    clip, recording = str(examples.predict[0]), str(examples.predict[1])
    assert (table["path"] == clip).sum() == 1 and table.loc[table["path"] == clip, "end"].iloc[0] == pytest.approx(1.0)
    rows = table[table["path"] == recording]
    assert len(rows) >= 1 and rows["end"].max() <= 20.0 + 1e-6
    assert all(n == "detection" or n.startswith("no keyword detected") for n in rows["note"]), rows
    assert rows["score"].between(0, 1).all()


def test_evaluate_on_a_labelled_folder(capsys, keyword_run, examples):
    code, out, err = run_cli(capsys, "evaluate", keyword_run, "--data", examples.evaluate)
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["clips"] > 0 and metrics["speakers"] == 3 and 0 <= metrics["accuracy"] <= 1


def test_evaluate_maps_other_labels_to_unknown_and_needs_no_full_set(capsys, tmp_path, keyword_run):
    for label in ("yes", "zebra"):
        write_audio(tmp_path / "clips" / label / "aa11bb22_nohash_0.wav", tone(1.0), RATE)
    code, out, err = run_cli(capsys, "evaluate", keyword_run, "--data", tmp_path / "clips")
    assert code == 0, err
    assert json.loads(out)["clips"] == 2
    code, _, err = run_cli(capsys, "evaluate", keyword_run, "--data", tmp_path / "missing")
    assert code != 0
    one_error_line(err, "missing")


def test_explain_gives_a_saliency_map_over_the_spectrogram(capsys, keyword_run, examples):
    run = Run.open(keyword_run)
    task = get_task("speech", "keywords")
    exp = task.explain(run, task.read_example(run, examples.explain))
    assert exp.details["saliency"].shape == exp.details["spectrogram"].shape == (98, 40)
    assert 0 <= exp.details["saliency"].min() and exp.details["saliency"].max() <= 1
    assert exp.names[0] == exp.details["predicted"] and abs(sum(exp.values) - 1) < 1 and exp.values == sorted(exp.values, reverse=True)
    code, out, err = run_cli(capsys, "explain", keyword_run, examples.explain)
    assert code == 0 and out.startswith("score "), err


def test_keyword_model_reloads_in_safe_mode_and_matches_its_savedmodel(keyword_run):
    import tensorflow as tf

    run = Run.open(keyword_run)
    clips = np.stack([tone(1.0), np.zeros(RATE, "float32")])
    keras_probs = np.asarray(run.model(clips, training=False))
    served = tf.saved_model.load(str(keyword_run / "saved_model"))
    np.testing.assert_allclose(keras_probs, np.asarray(served.serve(tf.constant(clips))), rtol=1e-4, atol=1e-5)


# --- bad input: one line each, or a documented handling -----------------------------------


def _wav_with_rate(path, rate):
    """A PCM WAV whose header claims `rate` samples per second."""
    samples = (np.zeros(800, "<i2")).tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    path.write_bytes(header + b"data" + struct.pack("<I", len(samples)) + samples)
    return path


@pytest.mark.parametrize(
    "case, fragments",
    [
        ("too_short", ("ms long", "at least 100 ms")),
        ("corrupt", ("could not read", "as audio")),
        ("wrong_extension", ("this task reads audio files",)),
        ("rate_zero", ("sample rate of 0 Hz",)),
        ("empty", ("input file is empty",)),
        ("far_too_long", ("s long; the limit is 600 s",)),
    ],
)
def test_bad_audio_gets_one_line(capsys, tmp_path, keyword_run, case, fragments):
    if case == "too_short":
        path = write_audio(tmp_path / "bad.wav", tone(0.05), RATE)
    elif case == "corrupt":
        path = tmp_path / "bad.wav"
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4)
    elif case == "wrong_extension":
        path = tmp_path / "bad.mp3"
        path.write_bytes(b"ID3" + bytes(100))
    elif case == "rate_zero":
        path = _wav_with_rate(tmp_path / "bad.wav", 0)
    elif case == "empty":
        path = tmp_path / "bad.wav"
        path.write_bytes(b"")
    else:  # 601 s at 8 kHz, 8-bit: refused from its header before decoding
        import soundfile as sf

        path = tmp_path / "bad.wav"
        sf.write(str(path), np.zeros(601 * 8000, "float32"), 8000, subtype="PCM_U8")
    code, _, err = run_cli(capsys, "predict", keyword_run, path)
    assert code != 0
    one_error_line(err, *fragments)


def test_silent_clipped_short_and_long_clips_are_scored_with_a_note(tmp_path, keyword_run):
    task = get_task("speech", "keywords")
    run = Run.open(keyword_run)
    loud = np.clip(tone(1.0, amplitude=3.0), -1, 1)
    files = {
        "silent": write_audio(tmp_path / "silent.wav", np.zeros(RATE, "float32"), RATE),
        "clipped": write_audio(tmp_path / "clipped.wav", loud, RATE),
        "zero-padded": write_audio(tmp_path / "short.wav", tone(0.4), RATE),
        "loudest": write_audio(tmp_path / "longish.wav", tone(1.4), RATE),
    }
    table = task.predict(run, list(files.values()))
    for (expected, path), note in zip(files.items(), table["note"]):
        assert expected in note, (path, note)
    assert table["score"].between(0, 1).all()
    assert quality_note(tone(1.0), RATE, RATE) == ""


def test_a_stereo_44k_flac_is_mixed_down_and_resampled(tmp_path, keyword_run):
    import soundfile as sf

    stereo = np.stack([tone(1.0, 44_100), tone(1.0, 44_100)], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(str(path), stereo, 44_100)
    names, waves = get_task("speech", "keywords").decode_inputs(Run.open(keyword_run), [path])
    assert waves.shape == (1, RATE)
    np.testing.assert_allclose(waves[0][1000:1100], tone(1.0)[1000:1100], atol=0.02)


# --- speech recognition --------------------------------------------------------------------


def test_asr_run_reports_wer_cer_and_real_time_factor(asr_run):
    metrics = json.loads((asr_run / "metrics.json").read_text())
    for method in ("greedy", "beam"):
        assert {"wer", "cer", "real_time_factor"} <= set(metrics[method])
        assert metrics[method]["cer"] >= 0
    assert metrics["utterances"] > 0 and metrics["real_time_factor"] > 0
    assert metrics["examples"] and {"reference", "hypothesis"} <= set(metrics["examples"][0])


def test_asr_predict_evaluate_and_explain(capsys, tmp_path, asr_run):
    task = get_task("speech", "transcribe")
    examples = task.write_examples(tmp_path / "ex")
    code, out, err = run_cli(capsys, "predict", asr_run, *examples.predict)
    assert code == 0, err
    assert out.splitlines()[0] == "path,seconds,transcript,score,note"
    code, out, err = run_cli(capsys, "evaluate", asr_run, "--data", examples.evaluate)
    assert code == 0, err
    assert {"wer", "cer", "greedy", "beam"} <= set(json.loads(out))
    code, out, err = run_cli(capsys, "explain", asr_run, examples.explain)
    assert code == 0 and out.startswith("score "), err


@pytest.mark.parametrize(
    "transcript, fragments",
    [("hello wörld", ("outside the vocabulary", "'ö'")), ("", ("row",)), ("?!", ("empty",))],
)
def test_bad_transcripts_get_one_line(capsys, tmp_path, transcript, fragments):
    folder = tmp_path / "asr"
    rows = []
    for i in range(12):
        write_audio(folder / f"s{i % 4}_{i}.wav", tone(1.0), RATE)
        rows.append({"path": f"s{i % 4}_{i}.wav", "transcript": "hello world", "speaker": f"s{i % 4}"})
    rows[5]["transcript"] = transcript
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    code, _, err = run_cli(
        capsys, "train", "speech", "--task", "transcribe", "--run-dir", tmp_path / "run",
        "--set", f"data.path={folder / 'manifest.csv'}", "--set", "trainer.epochs=1",
    )
    assert code != 0
    one_error_line(err, *fragments)


# --- the other keyword model types -----------------------------------------------------------


def test_keyword_transformer_trains_and_reloads(tmp_path):
    run_dir = train_tiny(tmp_path / "kwt", "keywords", "model.type=transformer", "model.embed_dim=16", "model.num_heads=2", "model.mlp_dim=16", "model.num_layers=1")
    run = Run.open(run_dir)
    assert run.model.get_layer("scorer").get_layer("encoder1") is not None
    probs = get_task("speech", "keywords").classify(run, tone(1.0))
    assert probs.shape == (len(run.state["classes"]),) and abs(probs.sum() - 1) < 1e-4


def test_transfer_trains_in_two_phases_and_reports_the_from_scratch_twin(tmp_path):
    run_dir = train_tiny(
        tmp_path / "transfer", "keywords", "model.type=transfer", "model.head_epochs=1", "model.fine_tune_epochs=1", "data.limit_per_class=4",
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"accuracy", "from_scratch", "transfer_beats_scratch"} <= set(metrics)
    assert metrics["from_scratch"]["epochs"] == 2 and 0 <= metrics["from_scratch"]["accuracy"] <= 1
    status = json.loads((run_dir / "status.json").read_text())
    assert status["phases_done"] == ["fine_tune", "head"]
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert metadata["data"]["train_clips"] <= 4 * 12, metadata["data"]["train_clips"]
