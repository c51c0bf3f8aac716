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
