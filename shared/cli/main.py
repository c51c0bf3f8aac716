"""`dlsuite`: list, pack data, train, evaluate, predict, explain, export and demo.

The CLI is generic over domains: every domain plugs in through
`shared.domain`, so adding one needs no change here. Errors caused by input
print one line (`dlsuite: error: ...`) and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shared.cli import native_logs
from shared.errors import DlsuiteError

# Decided before the default below is set: a user's own log level wins.
_QUIET_NATIVE_LOGS = native_logs.LOG_LEVEL_ENV not in os.environ
os.environ.setdefault(native_logs.LOG_LEVEL_ENV, "2")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        self.exit(2, f"dlsuite: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from shared import demo

    parser = _Parser(prog="dlsuite", description="Applied deep learning on Keras 3: train, evaluate, serve and demo domain models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="list domains, tasks, model types and demo models")

    p = sub.add_parser("train", help="train a domain task and write a run directory")
    p.add_argument("domain", nargs="?", help="domain name (see `dlsuite list`); omit with --resume")
    p.add_argument("--task", help="task of the domain (default: the domain's main task)")
    p.add_argument("--data", help="training data (sets data.path): a file, or a directory from `dlsuite data pack`; default: the domain's synthetic demo data")
    p.add_argument("--config", action="append", default=[], help="YAML file merged over the preset (repeatable)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override one config key, e.g. trainer.epochs=3")
    p.add_argument("--run-dir", type=Path, help="write the run here (a new or empty directory) instead of runs/<domain>/<task>-<time>")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue an interrupted run from its last checkpoint, with its saved config")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --run-dir with a new one")

    p = sub.add_parser("tune", help="hyperparameter search with keras-tuner over the task's tune: section; trials scored on the validation split")
    p.add_argument("domain", help="domain name (see `dlsuite list`)")
    p.add_argument("--task", help="task of the domain (default: the domain's main task)")
    p.add_argument("--data", help="training data for every trial (sets data.path)")
    p.add_argument("--config", action="append", default=[], help="YAML file merged over the preset; its tune: section replaces the preset's (repeatable)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override one config key in every trial")
    p.add_argument("--trials", type=int, default=10, help="trials in total, finished ones of a resumed search included (default 10; hyperband's brackets set their own)")
    p.add_argument("--search", default="random", help="random (default), bayesian or hyperband (epochs through trainer.epochs)")
    p.add_argument("--dir", type=Path, help="tuner directory, resumed when it exists (default runs/tune/<domain>-<task>)")
    p.add_argument("--seed", type=int, default=0, help="the search's seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="start the search again in an existing --dir")
    p.add_argument("--retrain", action="store_true", help="then train a normal run with the best config; its model card cites the search")
    p.add_argument("--run-dir", type=Path, help="with --retrain: the run directory (default runs/<domain>/<task>-<time>)")

    p = sub.add_parser("data", help="prepare data larger than memory: pack it into sharded TFRecords")
    data = p.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    p = data.add_parser("pack", help="stream a domain's input into DIR/{train,validation,test} TFRecord shards + DIR/pack.json")
    p.add_argument("domain", help="domain name (see `dlsuite list`)")
    p.add_argument("--data", required=True, type=Path, metavar="PATH", help="input: a table (CSV or Parquet), read in chunks; for medical_imaging an image folder or manifest, read image by image")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory (a new one, or an earlier pack to replace)")
    p.add_argument("--task", help="task of the domain (default: the domain's main task)")
    p.add_argument("--config", action="append", default=[], help="YAML file merged over the preset (repeatable)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override one config key, e.g. data.target=Class")

    p = sub.add_parser("evaluate", help="score a labelled file with a trained run")
    p.add_argument("run", type=Path)
    p.add_argument("--data", required=True, type=Path)

    p = sub.add_parser("predict", help="score inputs with a trained run; CSV on stdout")
    p.add_argument("run", type=Path)
    p.add_argument("inputs", nargs="+", type=Path)
    p.add_argument("--output", "-o", type=Path, help="write the CSV here (atomically) instead of stdout; a video path (.mp4, .mkv, ...) writes the input video annotated (video tasks)")

    p = sub.add_parser("explain", help="explain one input's score")
    p.add_argument("run", type=Path)
    p.add_argument("input", type=Path, help="one input of the kind the run's task reads: a table (with --row), an image, an audio clip, ...")
    p.add_argument("--row", type=int, default=1, help="1-based row of a table input (default 1)")

    p = sub.add_parser("export", help="export a run's model for serving")
    p.add_argument("run", type=Path)
    p.add_argument("--format", required=True, choices=["savedmodel", "keras", "tflite"])
    p.add_argument("--out", type=Path, help="output path (default: inside the run directory)")

    p = sub.add_parser("demo", help="launch the Streamlit demo app, or build its demo models")
    p.add_argument("--build", action="store_true", help="train the small demo models into data/demo_models and exit")
    p.add_argument("--only", action="append", default=[], metavar="DOMAIN", help="with --build: only these domains")
    p.add_argument("--port", type=int, default=8501, help="port the app listens on (default 8501)")
    p.add_argument("--host", metavar="HOST", help="address to listen on instead of 127.0.0.1, e.g. 0.0.0.0; anyone who can reach the port can then use the models and upload files")
    p.add_argument("--runs-root", type=Path, metavar="DIR", help=f"the app offers the demo models plus the runs under DIR (default: {demo.DEFAULT_RUNS_ROOT}/ under the working directory)")
    p.add_argument("--max-upload-mb", type=int, default=demo.MAX_UPLOAD_MB, metavar="N", help=f"largest file a visitor may upload, in MB (default {demo.MAX_UPLOAD_MB})")

    p = sub.add_parser("new", help="start a new domain as a renamed copy of an existing one: domains/NAME, its tests and configs")
    p.add_argument("name", help="the new domain's identifier, e.g. speech_commands (lowercase letters, digits, underscores)")
    p.add_argument("--from", dest="source", required=True, metavar="DOMAIN", help="the domain to copy (see `dlsuite list`)")
    p.add_argument("--title", help="the new domain's title, shown in `dlsuite list` and the app (default: NAME in words)")
    p.add_argument("--description", help="one sentence on what the domain does")
    p.add_argument("--with-page", action="store_true", help="also copy the source's app page to apps/pages/NAME.py (default: the generic page)")

    p = sub.add_parser("hub", help="TF Hub backbones: list known handles, build the offline ones")
    hub = p.add_subparsers(dest="hub_command", required=True, parser_class=_Parser)
    hub.add_parser("list", help="list the registered TF Hub models and whether they are available offline")
    p = hub.add_parser("build", help="pretrain an offline backbone into data/hub/NAME (a TF Hub SavedModel)")
    p.add_argument("name", help="offline backbone, e.g. fashion-cnn-64 (see `dlsuite hub list`)")
    p.add_argument("--out", type=Path, help="SavedModel directory (default data/hub/NAME)")
    p.add_argument("--epochs", type=int, help="pretraining epochs (default: the recipe's)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N train and test images, clips or WordNet synsets (quick checks)")
    p.add_argument("--data", type=Path, metavar="DIR", help="dataset folder, e.g. WordNet's dict folder (default: the Debian package's)")
    return parser


def _positive_int(name: str, text: str) -> int:
    from shared.errors import ConfigError

    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a positive integer, received {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from shared.cli import commands

    try:
        if os.environ.get("DLSUITE_VIRTUAL_CPUS"):
            from shared.training.strategy import split_cpu

            split_cpu(_positive_int("DLSUITE_VIRTUAL_CPUS", os.environ["DLSUITE_VIRTUAL_CPUS"]))
        return getattr(commands, f"cmd_{args.command}")(args) or 0
    except DlsuiteError as exc:
        print(f"dlsuite: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dlsuite: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0


def console() -> int:
    """The `dlsuite` command: `main()` with TensorFlow's C++ start-up logging filtered out."""
    if _QUIET_NATIVE_LOGS:
        native_logs.filter_native_logs()
    return main()


if __name__ == "__main__":
    sys.exit(console())
