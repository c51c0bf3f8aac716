"""The shipped speech demo models on held-out synthetic audio: accuracy floors, streaming, TFLite parity, WER.

Held-out audio comes from `DEMO_SEED` (which no preset trains on) and the
held-out end of the espeak-ng speaker pool, so neither the voices nor the
takes were heard in training. Figures measured on this data are in
domains/speech/README.md; the floors sit below them.
"""

import numpy as np
import pytest
from tests_support import demo_run

from domains.speech.synthetic import (
    DEMO_KEYWORDS,
    DEMO_UNKNOWN_WORDS,
    generate_keyword_dataset,
    generate_long_recording,
    generate_sentences,
)
from domains.speech.task import DEMO_SEED
from shared.data import espeak
from shared.domain import get_task
from shared.runs import Run

pytestmark = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")

KEYWORD_FLOORS = {"accuracy": 0.85, "macro_f1": 0.85}
STREAMING_FLOORS = {"recall": 0.75}
MAX_FALSE_ALARMS_PER_HOUR = 1200.0
MAX_WER = 0.3
# TFLite runs the same graph with other kernels: top-1 may differ only where Keras' top two are this close.
TFLITE_MARGIN = 0.02


@pytest.fixture(scope="module")
def held_out_clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech_held_out") / "clips"
    return generate_keyword_dataset(root, seed=DEMO_SEED, words=[*DEMO_KEYWORDS, *DEMO_UNKNOWN_WORDS], speakers=4, clips_per_speaker=1, noise_seconds=20.0, held_out=True)


def test_keyword_demo_model_scores_held_out_speakers(held_out_clips):
    run = Run.open(demo_run("speech", "keywords"))
    assert "synthetic" in str(run.metadata["data"]).lower()
    metrics = get_task("speech", "keywords").evaluate_file(run, held_out_clips)
    assert metrics["speakers"] == 4 and metrics["clips"] == 80
    for name, floor in KEYWORD_FLOORS.items():
        assert metrics[name] > floor, (name, metrics[name])


def test_keyword_demo_model_finds_keywords_in_a_60_second_recording(tmp_path):
    run = Run.open(demo_run("speech", "keywords"))
    recording = generate_long_recording(tmp_path / "recording.wav", seed=DEMO_SEED, seconds=60.0)
    report = get_task("speech", "keywords").evaluate_file(run, recording)
    assert report["keywords_spoken"] > 10 and report["seconds"] == pytest.approx(60.0, abs=0.1)
    assert report["recall"] > STREAMING_FLOORS["recall"], report
    assert report["false_alarms_per_hour"] < MAX_FALSE_ALARMS_PER_HOUR, report
    assert 0 < report["real_time_factor"] < 1


def test_tflite_export_agrees_with_keras_on_the_demo_test_clips(tmp_path, held_out_clips):
    from ai_edge_litert.interpreter import Interpreter

    from shared.export import export, tflite_uses_flex

    run = Run.open(demo_run("speech", "keywords"))
    task = get_task("speech", "keywords")
    names, waves = task.decode_inputs(run, [held_out_clips])
    keras_probs = np.asarray(run.model(waves, training=False))
    path = export(run.model, "tflite", tmp_path / "keywords.tflite")
    assert not tflite_uses_flex(path), "the keyword model, mel front end included, must convert to TFLite builtin ops"
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert tuple(inp["shape"]) == (1, waves.shape[1])
    lite = np.zeros_like(keras_probs)
    for i, wave in enumerate(waves):
        interpreter.set_tensor(inp["index"], wave[None])
        interpreter.invoke()
        lite[i] = interpreter.get_tensor(out["index"])[0]
    top2 = np.sort(keras_probs, axis=1)[:, -2:]
    differ = np.flatnonzero(lite.argmax(1) != keras_probs.argmax(1))
    close = top2[:, 1] - top2[:, 0] < TFLITE_MARGIN
    assert all(close[differ]), [names[i] for i in differ if not close[i]]
    np.testing.assert_allclose(lite, keras_probs, atol=1e-3)


def test_asr_demo_model_transcribes_held_out_sentences(tmp_path):
    run = Run.open(demo_run("speech", "transcribe"))
    root = generate_sentences(tmp_path / "sentences", seed=DEMO_SEED, sentences=24, speakers=4, held_out=True)
    metrics = get_task("speech", "transcribe").evaluate_file(run, root / "metadata.csv")
    assert metrics["utterances"] == 24
    assert metrics["wer"] < MAX_WER and metrics["cer"] < metrics["wer"], metrics
    assert metrics["beam"]["wer"] <= metrics["greedy"]["wer"] + 0.05, metrics
