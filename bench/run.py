"""Run the benchmarks and print their figures as a markdown table.

    python bench/run.py            # all benchmarks (about 5 minutes on 2 CPU cores)
    python bench/run.py --quick    # smaller sizes, for a smoke check

Results are also written to bench/results/<time>.json with the device they
ran on. Figures are ratios measured within one run; absolute rates vary
with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> None:
    import accelerator
    import driving_bench
    import fraud_bench
    import language_bench
    import medical_bench
    import speech_bench
    import stream_bench

    from shared.demo import demo_run_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = 8_000 if args.quick else 60_000
    results = [
        fraud_bench.training_throughput(rows=rows, epochs=1 if args.quick else 3),
        fraud_bench.scoring_throughput(demo_run_dir("fraud_detection", "classifier"), rows=5_000 if args.quick else 50_000),
        medical_bench.image_training_throughput(images=300 if args.quick else 1200, epochs=1 if args.quick else 2),
        *accelerator.accelerator_throughput(**(accelerator.QUICK if args.quick else accelerator.FULL)),
        stream_bench.streaming_memory(**(stream_bench.QUICK if args.quick else stream_bench.FULL)),
        stream_bench.packing_throughput(rows=9_000 if args.quick else 200_000, extra_columns=4 if args.quick else 100),
        speech_bench.keyword_latency(demo_run_dir("speech", "keywords"), clips=10 if args.quick else 40),
        speech_bench.asr_real_time_factor(demo_run_dir("speech", "transcribe"), sentences=4 if args.quick else 24),
        speech_bench.streaming_throughput(demo_run_dir("speech", "keywords"), seconds=15.0 if args.quick else 60.0),
        language_bench.decoding_cache_speedup(batch_size=4 if args.quick else 32, repeats=1 if args.quick else 3),
        language_bench.beam_vs_greedy(demo_run_dir("language", "translation"), sentences=16 if args.quick else 256, rounds=1 if args.quick else 2),
        language_bench.text_training_throughput(reviews=300 if args.quick else 3000, rounds=1 if args.quick else 3, quick=args.quick),
        driving_bench.video_throughput(demo_run_dir("driving", "detection"), seconds=3.0 if args.quick else 10.0),
        driving_bench.detector_training_throughput(images=80 if args.quick else 600, rounds=1 if args.quick else 3, quick=args.quick),
    ]
    record = {"device": accelerator.device_name(), "time": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick, "results": results}
    out = HERE / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    print(f"device: {record['device']}")
    print(fraud_bench.summarize(results))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
