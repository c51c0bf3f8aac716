"""The benchmark code runs (tiny sizes); the recorded figures come from bench/run.py."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


@pytest.mark.slow
def test_fraud_benchmarks_run():
    import fraud_bench

    from shared.demo import demo_run_dir

    train = fraud_bench.training_throughput(rows=3000, batch_size=256, epochs=1)
    score = fraud_bench.scoring_throughput(demo_run_dir("fraud_detection", "classifier"), rows=2000)
    for result in (train, score):
        assert result["ratio"] > 0
    assert "fraud MLP training" in fraud_bench.summarize([train, score])


@pytest.mark.slow
def test_medical_benchmark_runs():
    import medical_bench

    result = medical_bench.image_training_throughput(images=120, batch_size=32, epochs=1)
    assert result["ratio"] > 0 and result["examples"] > 0


@pytest.mark.slow
def test_accelerator_benchmark_runs(tmp_path):
    import json

    import accelerator
    import fraud_bench
    import keras

    before = keras.mixed_precision.global_policy().name
    measurements = accelerator.main(["--quick"], results_dir=tmp_path)
    assert keras.mixed_precision.global_policy().name == before
    assert [m["model"] for m in measurements] == ["fraud MLP", "medical transfer classifier"]
    for m in measurements:
        a, b, c = m["settings"]
        assert (a["policy"], b["policy"], c["policy"]) == ("float32", "mixed_float16", "mixed_float16")
        assert not a["loss_scale_optimizer"] and b["loss_scale_optimizer"] and c["loss_scale_optimizer"]
        assert b["output_dtype"] == "float32"  # the heads keep their outputs in float32
        assert not a["xla_applied"] and not b["xla_applied"]
        assert c["xla_applied"] or c["xla_blocked_by"]
        assert all(r["examples_per_s"] > 0 for r in m["settings"])
    record = json.loads(next(tmp_path.glob("accelerator-*.json")).read_text())
    assert len(record["results"]) == 4 and all(r["ratio"] > 0 for r in record["results"])
    assert "mixed precision + XLA vs float32" in fraud_bench.summarize(record["results"])


def test_accelerator_restores_the_dtype_policy_when_a_setting_fails():
    import accelerator
    import keras

    seen = []

    def build(jit_compile):
        seen.append(keras.mixed_precision.global_policy().name)
        raise RuntimeError("build failed")

    workload = accelerator.Workload("broken", batches=None, examples_per_epoch=1, batch_size=1, build=build)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with pytest.raises(RuntimeError, match="build failed"):
            accelerator.measure([workload], epochs=1)
        assert seen == ["float32"]
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_stream_benchmark_runs():
    import fraud_bench
    import stream_bench

    result = stream_bench.main(["--quick"])
    assert result["data_ratio"] == pytest.approx(3.0) and result["ratio"] > 0
    assert result["small_peak_rss_mb"] > 0 and result["large_peak_rss_mb"] > 0
    assert "peak RSS grew" in stream_bench.report(result)
    assert "large_peak_rss_mb" in fraud_bench.summarize([result])


def test_packing_benchmark_runs():
    import fraud_bench
    import stream_bench

    result = stream_bench.packing_throughput(rows=3_000, extra_columns=4)
    assert result["columns"] == 15 and result["ratio"] > 0 and result["shards_mb"] > 0
    assert "pack_rows_per_s" in fraud_bench.summarize([result])


@pytest.mark.slow
def test_speech_benchmarks_run():
    import speech_bench
    from tests_support import demo_run

    keywords, asr = demo_run("speech", "keywords"), demo_run("speech", "transcribe")
    latency = speech_bench.keyword_latency(keywords, clips=10, rounds=1)
    assert latency["ratio"] > 0 and latency["end_to_end_ms"] > 0 and latency["clips"] == 10, latency  # one round: noisy, a smoke check only
    assert 0 < speech_bench.asr_real_time_factor(asr, sentences=3, rounds=1)["ratio"]
    assert speech_bench.streaming_throughput(keywords, seconds=10.0, rounds=1)["audio_s"] == pytest.approx(10.0, abs=0.1)


@pytest.mark.slow
def test_language_benchmarks_run():
    import language_bench

    from shared.demo import demo_run_dir

    cache = language_bench.decoding_cache_speedup(batch_size=2, repeats=1)
    assert cache["ratio"] > 0 and cache["cached_tokens_per_s"] > 0
    beam = language_bench.beam_vs_greedy(demo_run_dir("language", "translation"), sentences=4, rounds=1)
    assert 0 < beam["ratio"] and beam["sentences"] == 4  # one round: noisy, a smoke check only
    training = language_bench.text_training_throughput(reviews=120, rounds=1, quick=True)
    assert training["ratio"] > 0 and training["examples"] > 0


@pytest.mark.slow
def test_driving_benchmarks_run():
    import driving_bench
    from tests_support import demo_run

    video = driving_bench.video_throughput(demo_run("driving", "detection"), seconds=2.0)
    assert video["frames"] == 20 and 0 < video["ratio"] and video["model_frames_per_s"] > 0  # one run: noisy, a smoke check only
    training = driving_bench.detector_training_throughput(images=40, rounds=1, quick=True)
    assert training["ratio"] > 0 and training["images"] > 0
