"""Speech benchmarks on the demo models: keyword latency, ASR real-time factor, streaming throughput.

- keyword latency: milliseconds per one-second clip end to end (WAV file
  read with the shared reader, resampled, fitted to the clip, then the whole
  model: log-mel front end included, one clip per call) divided by
  milliseconds of the scorer sub-model alone on ready log-mel features (one
  clip per call). The ratio is what reading the file and computing features
  cost on top of the network.
- ASR real-time factor: seconds of compute per second of audio for
  `transcribe` (greedy decoding, batches of 16 utterances, held-out
  synthetic sentences). Below 1 is faster than real time.
- streaming throughput: seconds of audio per second of compute for
  keyword detection over a long synthetic recording (`detect`: windows
  every 0.1 s, batched, thresholds and suppression).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 4242


def _best(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def keyword_latency(run_dir: Path, clips: int = 40, rounds: int = 3) -> dict:
    from domains.speech.pipeline import fit_clip
    from domains.speech.synthetic import DEMO_KEYWORDS, generate_keyword_dataset
    from domains.speech.task import read_input
    from shared.explain.feature_saliency import split_model
    from shared.runs import Run

    run = Run.open(run_dir)
    model = run.model
    rate, samples = int(run.state["sample_rate"]), int(run.state["clip_samples"])
    features, scorer = split_model(model)
    with tempfile.TemporaryDirectory() as work:
        root = generate_keyword_dataset(Path(work) / "clips", seed=SEED, words=list(DEMO_KEYWORDS), speakers=max(1, clips // len(DEMO_KEYWORDS)), clips_per_speaker=1, noise_seconds=5.0, held_out=True)
        paths = sorted(p for p in root.rglob("*.wav") if "_background_noise_" not in p.parts)[:clips]
        ready = [np.asarray(features(fit_clip(read_input(p, rate), samples)[0][None], training=False)) for p in paths]
        model(np.zeros((1, samples), "float32"), training=False)  # trace once
        scorer(ready[0], training=False)

        def end_to_end():
            for p in paths:
                model(fit_clip(read_input(p, rate), samples)[0][None], training=False)

        def scorer_only():
            for f in ready:
                scorer(f, training=False)

        e2e, core = _best(end_to_end, rounds), _best(scorer_only, rounds)
    n = len(paths)
    return {
        "benchmark": "keyword latency per clip: end to end ÷ model on ready features",
        "clips": n,
        "end_to_end_ms": e2e / n * 1000,
        "scorer_ms": core / n * 1000,
        "ratio": e2e / core,
    }


def asr_real_time_factor(run_dir: Path, sentences: int = 24, rounds: int = 2) -> dict:
    from domains.speech.synthetic import generate_sentences
    from shared.domain import get_task
    from shared.inputs.audio import read_audio
    from shared.runs import Run

    run = Run.open(run_dir)
    task = get_task("speech", "transcribe")
    rate = int(run.state["sample_rate"])
    with tempfile.TemporaryDirectory() as work:
        root = generate_sentences(Path(work) / "s", seed=SEED, sentences=sentences, speakers=4, held_out=True)
        waves = [read_audio(p, rate)[0] for p in sorted((root / "wavs").glob("*.wav"))]
    audio = sum(len(w) for w in waves) / rate
    task.transcribe(run, waves[:2])  # trace once
    seconds = _best(lambda: task.transcribe(run, waves), rounds)
    return {"benchmark": "ASR real-time factor (greedy, compute s ÷ audio s)", "utterances": len(waves), "audio_s": audio, "compute_s": seconds, "ratio": seconds / audio}


def streaming_throughput(run_dir: Path, seconds: float = 60.0, rounds: int = 2) -> dict:
    from domains.speech.synthetic import generate_long_recording
    from shared.domain import get_task
    from shared.inputs.audio import read_audio
    from shared.runs import Run

    run = Run.open(run_dir)
    task = get_task("speech", "keywords")
    rate = int(run.state["sample_rate"])
    with tempfile.TemporaryDirectory() as work:
        wave = read_audio(generate_long_recording(Path(work) / "long.wav", seed=SEED, seconds=seconds), rate)[0]
    task.detect(run, wave[: rate * 3])  # trace once
    compute = _best(lambda: task.detect(run, wave), rounds)
    return {"benchmark": "keyword streaming throughput (audio s ÷ compute s)", "audio_s": len(wave) / rate, "compute_s": compute, "ratio": len(wave) / rate / compute}
