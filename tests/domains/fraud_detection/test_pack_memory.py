"""Training from packed data: peak memory stays flat while the data grows 7x.

Two wide synthetic transaction tables (the larger one repeats the smaller
one's rows) are packed, then `dlsuite train fraud_detection --data PACK` runs
one epoch on each in a subprocess while a thread samples the child's VmRSS
every 50 ms (`bench/stream_bench.py`'s sampler). The cap for the large run
is the small run's peak plus a margin smaller than the large set's decoded
numbers: holding that data in memory would cross it, streaming must not.
"""

import sys
from pathlib import Path

import pytest
from tests_support import PROCESSES, dlsuite_cmd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import stream_bench  # noqa: E402

SMALL_ROWS, LARGE_ROWS, EXTRA_COLUMNS = 50_000, 350_000, 100
# Headroom over the small run's peak: the runs' peaks differ by up to ~80 MB
# on the 2-core development machine whatever the data size (TensorFlow's
# allocators, model export), far less than the large set's ~150 MB of numbers.
MARGIN = 120 * stream_bench.MB


@pytest.mark.slow
@PROCESSES
def test_peak_memory_does_not_grow_with_the_data(tmp_path):
    decoded = {}
    for name, rows in (("small", SMALL_ROWS), ("large", LARGE_ROWS)):
        csv = tmp_path / f"{name}.csv"
        stream_bench.write_transactions_csv(csv, rows, base_rows=SMALL_ROWS, extra_columns=EXTRA_COLUMNS)
        decoded[name] = stream_bench.decoded_bytes(stream_bench.pack(csv, tmp_path / f"{name}-pack"))
        csv.unlink()

    def train(name, cap=None):
        args = stream_bench.train_args(tmp_path / f"{name}-pack", tmp_path / f"{name}-run", ["data.baseline_max_rows=20000"])
        result = stream_bench.peak_rss(dlsuite_cmd(*args), cap_bytes=cap)
        assert result["over_cap"] or result["returncode"] == 0, result["output"][-3000:]
        return result

    small = train("small")
    cap = small["peak_bytes"] + MARGIN
    assert decoded["large"] > MARGIN  # loaded into memory, the large set alone would cross the cap
    large = train("large", cap=cap)
    mb = {k: v / stream_bench.MB for k, v in (("small", small["peak_bytes"]), ("large", large["peak_bytes"]), ("cap", cap), ("data", decoded["large"]))}
    assert not large["over_cap"], "training from the large pack crossed the memory cap: peak RSS {large:.0f} MB > {cap:.0f} MB (small run {small:.0f} MB, large data {data:.0f} MB)".format(**mb)
