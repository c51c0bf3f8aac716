"""Streaming benchmark: peak memory of training from packed data at two sizes.

Writes a wide synthetic transactions CSV at two sizes, packs each one
(`dlsuite data pack`'s code path), then trains one epoch from each pack with
`dlsuite train fraud_detection --data DIR` in a subprocess while a thread
reads the child's resident memory (VmRSS in /proc/<pid>/status) every 50 ms.
Training streams the shards, so its peak should hardly grow with the data:
the ratio peak(large) / peak(small) stays near 1 while the data grows by
`data_ratio`. Linux only (it reads /proc).

    python bench/stream_bench.py           # 50,000 and 400,000 rows (about 2 minutes on 2 CPU cores)
    python bench/stream_bench.py --quick   # tiny sizes, a smoke check

`packing_throughput` (a row of bench/run.py) compares packing a wide CSV
with only reading it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

MB = 1 << 20
FULL = {"small_rows": 50_000, "large_rows": 400_000}
QUICK = {"small_rows": 3_000, "large_rows": 9_000, "extra_columns": 4, "baseline_max_rows": 1_000}
# Training settings of both runs: one epoch, no TensorBoard, one log line per epoch.
TRAIN_OVERRIDES = ["trainer.epochs=1", "trainer.tensorboard=false", "trainer.batch_size=1024", "trainer.verbose=2"]


def write_transactions_csv(path: Path, rows: int, base_rows: int, extra_columns: int = 100, seed: int = 0) -> None:
    """A synthetic transactions CSV of `rows` rows, made wide and long cheaply.

    `base_rows` rows come from the fraud generator, plus `extra_columns`
    numeric columns `x00`, `x01`... of random integers 0-999 (wide rows make
    the decoded data large; integers are quick to write as text); the file
    then repeats those rows, as text, until it holds `rows` rows, so a large
    file costs little more to make than a small one.
    """
    import numpy as np
    import pandas as pd

    from domains.fraud_detection.synthetic import generate_transactions

    frame = generate_transactions(min(rows, base_rows), seed=seed)
    values = np.random.default_rng(seed).integers(0, 1000, size=(len(frame), extra_columns))
    frame = pd.concat([frame, pd.DataFrame(values, columns=[f"x{i:02d}" for i in range(extra_columns)])], axis=1)
    header, body = frame.to_csv(index=False).split("\n", 1)
    lines = body.splitlines(keepends=True)
    with path.open("w") as fh:
        fh.write(header + "\n")
        for _ in range(rows // len(lines)):
            fh.write(body)
        fh.writelines(lines[: rows % len(lines)])


def pack(csv: Path, out_dir: Path, overrides: list[str] = ()) -> dict:
    """Pack `csv` for the fraud classifier, in this process; returns pack.json's content."""
    from shared.domain import get_task

    task = get_task("fraud_detection", "classifier")
    return task.pack(task.resolve_config(overrides=list(overrides)), csv, out_dir)


def decoded_bytes(info: dict) -> int:
    """Bytes of a pack's numbers once decoded (float32, int64), all splits.

    Text columns are left out, so this is a lower bound of the in-memory size.
    """
    width = {"float": 4, "int": 8}
    per_row = 0
    for s in info["spec"].values():
        n = 1
        for dim in s.get("shape", []):
            n *= dim
        per_row += width.get(s["dtype"], 0) * n
    return per_row * sum(split["rows"] for split in info["splits"].values())


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss(cmd: list[str], cap_bytes: int | None = None, interval: float = 0.05) -> dict:
    """Run `cmd` and sample its resident memory every `interval` seconds.

    With `cap_bytes`, the child is killed as soon as a sample exceeds it.

    Returns:
        dict: `peak_bytes`, `returncode`, `over_cap` (killed at the cap),
        `seconds` and `output` (stdout and stderr together).
    """
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        peak, over_cap = 0, False

        def sample() -> None:
            nonlocal peak, over_cap
            while child.poll() is None:
                try:
                    rss = _rss_bytes(child.pid)
                except (FileNotFoundError, ProcessLookupError):
                    break  # exited between poll() and the read
                peak = max(peak, rss)
                if cap_bytes is not None and rss > cap_bytes:
                    over_cap = True
                    child.kill()
                    break
                time.sleep(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = child.wait()
        sampler.join()
        log.seek(0)
        return {
            "peak_bytes": peak,
            "returncode": returncode,
            "over_cap": over_cap,
            "seconds": time.perf_counter() - start,
            "output": log.read(),
        }


def train_args(pack_dir: Path, run_dir: Path, overrides: list[str] = ()) -> list[str]:
    """`dlsuite` arguments that train one epoch from `pack_dir` with the benchmark's settings."""
    sets = [a for o in [*TRAIN_OVERRIDES, *overrides] for a in ("--set", o)]
    return ["train", "fraud_detection", "--data", str(pack_dir), "--run-dir", str(run_dir), *sets]


def streaming_memory(small_rows: int = 50_000, large_rows: int = 400_000, extra_columns: int = 100, baseline_max_rows: int = 20_000) -> dict:
    """Peak RSS of one training epoch from packed data, at two sizes."""
    runs = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for name, rows in (("small", small_rows), ("large", large_rows)):
            csv = work / f"{name}.csv"
            write_transactions_csv(csv, rows, base_rows=small_rows, extra_columns=extra_columns)
            info = pack(csv, work / f"{name}-pack")
            csv.unlink()
            args = train_args(work / f"{name}-pack", work / f"{name}-run", [f"data.baseline_max_rows={baseline_max_rows}"])
            result = peak_rss([sys.executable, "-m", "shared.cli.main", *args])
            if result["returncode"] != 0:
                raise RuntimeError(f"training from the {name} pack failed:\n{result['output'][-2000:]}")
            runs[name] = {"rows": rows, "data_bytes": decoded_bytes(info), **result}
    small, large = runs["small"], runs["large"]
    return {
        "benchmark": "fraud training from packed data, peak memory",
        "small_rows": small_rows,
        "large_rows": large_rows,
        "small_data_mb": small["data_bytes"] / MB,
        "large_data_mb": large["data_bytes"] / MB,
        "small_peak_rss_mb": small["peak_bytes"] / MB,
        "large_peak_rss_mb": large["peak_bytes"] / MB,
        "data_ratio": large["data_bytes"] / small["data_bytes"],
        "ratio": large["peak_bytes"] / small["peak_bytes"],
        "small_train_seconds": small["seconds"],
        "large_train_seconds": large["seconds"],
    }


def packing_throughput(rows: int = 200_000, extra_columns: int = 100) -> dict:
    """Rows/s of packing a wide CSV ÷ rows/s of only reading it, in the same chunks.

    Both passes read the same file through `shared.data.tables.iter_table`
    with the preset's `data.chunk_rows`; packing adds validation, the split,
    vocabulary counts, serialization, writing and checksums. The read pass
    runs first and warms the page cache for the other.
    """
    from shared.data.tables import iter_table
    from shared.domain import get_task

    task = get_task("fraud_detection", "classifier")
    chunk_rows = task.resolve_config().data.chunk_rows
    with tempfile.TemporaryDirectory() as work:
        csv = Path(work) / "wide.csv"
        write_transactions_csv(csv, rows, base_rows=min(rows, 50_000), extra_columns=extra_columns)
        start = time.perf_counter()
        read_rows = sum(len(chunk) for chunk in iter_table(csv, chunk_rows))
        read = read_rows / (time.perf_counter() - start)
        start = time.perf_counter()
        info = pack(csv, Path(work) / "pack")
        packed = rows / (time.perf_counter() - start)
        shard_mb = sum(f.stat().st_size for f in (Path(work) / "pack").rglob("*.tfrecord")) / MB
        csv_mb = csv.stat().st_size / MB
    assert read_rows == rows == sum(s["rows"] for s in info["splits"].values())
    return {
        "benchmark": "fraud packing (dlsuite data pack)",
        "rows": rows,
        "columns": len(info["spec"]),
        "csv_mb": csv_mb,
        "shards_mb": shard_mb,
        "pack_rows_per_s": packed,
        "read_rows_per_s": read,
        "ratio": packed / read,
    }


def report(result: dict) -> str:
    return "\n".join(
        [
            f"{'':>6} | {'rows':>9} | {'decoded data':>12} | {'peak RSS':>9} | {'train time':>10}",
            *(
                f"{name:>6} | {result[f'{name}_rows']:>9,} | {result[f'{name}_data_mb']:>9,.0f} MB | "
                f"{result[f'{name}_peak_rss_mb']:>6,.0f} MB | {result[f'{name}_train_seconds']:>8.1f} s"
                for name in ("small", "large")
            ),
            f"data grew x{result['data_ratio']:.1f}; peak RSS grew x{result['ratio']:.2f}",
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke check")
    args = parser.parse_args(argv)
    result = streaming_memory(**(QUICK if args.quick else FULL))
    print(report(result))
    return result


if __name__ == "__main__":
    main()
