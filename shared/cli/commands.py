"""The work behind each `dlsuite` sub-command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared import demo, inputs, runs
from shared.domain import discover, get_domain, get_task
from shared.errors import ConfigError, DataError, RunError, UnsupportedError


def _print(line: str = "") -> None:
    print(line, flush=True)


def cmd_list(args) -> int:
    for name, domain in discover().items():
        _print(f"{name}: {domain.description}")
        demos = demo.available(domain)
        for task_name, task in domain.tasks.items():
            default = " (default)" if task_name == domain.default_task else ""
            models = ", ".join(task.models.names())
            ready = " [demo model ready]" if task_name in demos else ""
            _print(f"  --task {task_name}{default}: {task.title}; model types: {models}{ready}")
    return 0


def cmd_train(args) -> int:
    import contextlib

    from shared.data.records import shard_errors
    from shared.training.runner import resume_run, start_run, train

    def resolve():
        task = get_task(args.domain, args.task)
        extra = {"data": {"path": str(args.data)}} if args.data else None
        if args.data and not Path(args.data).exists():
            raise DataError(f"data file not found: {args.data}")
        return task, task.resolve_config(args.config, args.overrides, extra)

    with contextlib.ExitStack() as held:  # the run directory's lock, until training ends
        if args.resume:
            if args.overwrite:
                raise RunError("--resume continues a run and --overwrite replaces one; give only one of them")
            if args.run_dir and args.run_dir.absolute() != args.resume.absolute():
                raise RunError(f"--run-dir {args.run_dir} and --resume {args.resume} name different directories; give only --resume RUN")
            expected = None
            if args.domain:  # the options must match the saved config
                expected = resolve()[1]
            elif args.task or args.config or args.overrides or args.data:
                raise RunError("options given with --resume are checked against the run's saved config and need the DOMAIN too; or give --resume RUN alone")
            task, cfg = held.enter_context(resume_run(get_task, args.resume, expected))
            run_dir = args.resume
            _print(f"resuming {run_dir}")
        else:
            if not args.domain:
                raise RunError("train needs a DOMAIN (see `dlsuite list`) or --resume RUN")
            task, cfg = resolve()
            run_dir = held.enter_context(start_run(task, cfg, args.run_dir, overwrite=args.overwrite))
            _print(f"run directory: {run_dir}")
        # Shards are checksummed before training; a record that still reads as corrupt
        # (changed meanwhile, or verification turned off) is one error line, not a traceback.
        with shard_errors(*[p for p in (args.data, run_dir) if p]):
            result = train(task, cfg, run_dir)
    _print(f"finished: {result.run_dir}")
    _print(task.summarize(result.metrics))
    return 0


def cmd_tune(args) -> int:
    from shared.tuning.search import tune, tuning_record

    task = get_task(args.domain, args.task)
    if args.data and not Path(args.data).exists():
        raise DataError(f"data file not found: {args.data}")
    if args.run_dir and not args.retrain:
        raise ConfigError("--run-dir names the run that --retrain trains; add --retrain")
    directory = args.dir or Path("runs") / "tune" / f"{task.domain.name}-{task.name}"
    result = tune(task, files=args.config, overrides_base=args.overrides, data=args.data, directory=directory,
                  trials=args.trials, search=args.search, seed=args.seed, overwrite=args.overwrite)
    key, direction = result.objective
    if result.worker:
        _print(f"worker {result.worker}: no trials left ({result.seconds:.0f} s); the chief writes trials.csv, tune.png and best_config.yaml")
        return 0
    if result.best is None:
        raise RunError(f"no trial of the search in {directory} finished with a validation {key}")
    _print(f"{len(result.trials)} trials in {directory} (trials.csv, tune.png, best_config.yaml)")
    _print(f"best: trial {result.best['trial']}, validation {key} {result.best[key]:.4f} ({direction}): {' '.join(result.best_overrides) or 'the preset values'}")
    if not args.retrain:
        return 0
    from shared.training.runner import start_run, train

    extra = {"data": {"path": str(args.data)}} if args.data else None
    cfg = task.resolve_config(args.config, [*args.overrides, *result.best_overrides], extra)
    with start_run(task, cfg, args.run_dir) as run_dir:
        _print(f"retraining with the best config: {run_dir}")
        trained = train(task, cfg, run_dir, tuning=tuning_record(result))
    _print(f"finished: {trained.run_dir}")
    _print(task.summarize(trained.metrics))
    return 0


def _data_pack(args) -> int:
    task = get_task(args.domain, args.task)
    if not args.data.exists():
        raise DataError(f"data file not found: {args.data}")
    cfg = task.resolve_config(args.config, args.overrides)
    info = task.pack(cfg, args.data, args.out)
    counts = ", ".join(f"{name} {split['rows']:,}" for name, split in info["splits"].items())
    _print(f"packed {args.data} into {args.out} ({counts} rows)")
    _print(f"train from it with: dlsuite train {task.domain.name} --task {task.name} --data {args.out}")
    return 0


def cmd_data(args) -> int:
    return {"pack": _data_pack}[args.data_command](args)


def _open(path: Path):
    run = runs.Run.open(path)
    return run, get_task(run.domain_name, run.task_name)


def cmd_evaluate(args) -> int:
    run, task = _open(args.run)
    metrics = task.evaluate_file(run, args.data)
    _print(runs.json_text(metrics))  # strict JSON: an undefined metric (NaN) is null
    return 0


def cmd_predict(args) -> int:
    run, task = _open(args.run)
    if args.output and inputs.kind_of(args.output) == "video":
        return _predict_video(run, task, list(args.inputs), args.output)
    table = task.predict(run, list(args.inputs))
    if args.output:
        runs.write_text(args.output, table.to_csv(index=False))
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        table.to_csv(sys.stdout, index=False)
    return 0


def _predict_video(run, task, sources: list, output) -> int:
    """One video (or frame folder) in, the annotated MP4 out, with progress and timings on stderr."""
    from shared.progress import RunningCount

    if not task.supports("annotate_video"):
        raise UnsupportedError(f"the {task.domain.name} task {task.name!r} does not annotate videos; write predictions to a .csv instead")
    if len(sources) != 1:
        raise DataError(f"an annotated video comes from one input video or frame folder. Received: {len(sources)} inputs")
    source = Path(sources[0])
    if not source.is_dir():
        inputs.require_kind(source, "video")
    progress = RunningCount("annotated {:,} frames")
    stats = task.annotate_video(run, source, Path(output), progress=lambda done, total: progress.add(done - progress.count))
    progress.done()
    print(
        f"wrote {stats['frames']} annotated frames to {output}: {stats['frames_per_second']:.1f} frames/s end to end, "
        f"{1000 * stats['seconds_in_fn'] / max(1, stats['frames']):.1f} ms per frame in the model and drawing",
        file=sys.stderr,
    )
    return 0


def cmd_explain(args) -> int:
    from shared.domain import InputKind

    run, task = _open(args.run)
    if args.row != 1 and task.input_kind is not InputKind.TABLE:
        raise DataError(f"--row applies to table inputs; the {task.domain.name} task {task.name!r} reads {task.input_kind.value} files")
    example = task.read_example(run, args.input, row=args.row)
    exp = task.explain(run, example)
    _print(f"score {exp.score:.4f} (baseline {exp.baseline_score:.4f}); {exp.method}")
    for name, value in zip(exp.names, exp.values):
        _print(f"  {value:+.4f}  {name}")
    return 0


def cmd_export(args) -> int:
    from shared.export import export

    run, task = _open(args.run)
    default = {"savedmodel": "saved_model", "keras": "export.keras", "tflite": "model.tflite"}[args.format]
    extra = task.serving_endpoints(run.model, run.config_data) if args.format == "savedmodel" else None
    out = export(run.model, args.format, args.out or run.path / default, extra)
    _print(f"exported {args.format}: {out}")
    return 0


def cmd_demo(args) -> int:
    if args.build:
        names = args.only or discover().names()
        for name in names:
            for path in demo.build(get_domain(name)):
                _print(f"demo model ready: {path}")
        return 0
    app = demo.REPO_ROOT / "apps" / "app.py"
    if not app.is_file():
        raise RunError(f"the demo app is missing: {app}")
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, received {args.port}")
    if args.max_upload_mb < 1:
        raise ConfigError(f"--max-upload-mb must be at least 1, received {args.max_upload_mb}")
    host = demo.DEMO_HOST if args.host is None else args.host.strip()
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"--host must be an address or host name, received {args.host!r}")
    # The default root may not exist yet (no run trained); one that was asked for must.
    if args.runs_root is not None and not args.runs_root.is_dir():
        raise RunError(f"--runs-root is not a directory: {args.runs_root}")
    runs_root = (args.runs_root or demo.DEFAULT_RUNS_ROOT).absolute()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", host,
        "--server.port", str(args.port),
        "--server.maxUploadSize", str(args.max_upload_mb),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]
    private = host in demo.LOOPBACK_HOSTS
    if not private:
        print(
            f"dlsuite: warning: the demo app listens on {host}:{args.port}; anyone who can reach that port can use "
            f"the models, upload files and open every run under {runs_root}",
            file=sys.stderr,
            flush=True,
        )
    _print(f"starting the demo app on http://{'localhost' if private else host}:{args.port} (runs root: {runs_root})")
    return subprocess.call(cmd, env={**os.environ, demo.RUNS_ROOT_ENV: str(runs_root)})


def cmd_new(args) -> int:
    from shared.scaffold import check_name, new_domain

    check_name(args.name, demo.REPO_ROOT)  # before discovery: a bad name is refused at once
    made = new_domain(demo.REPO_ROOT, args.name, get_domain(args.source), args.title, args.description, args.with_page)
    _print(f"created {made.domain_dir} ({made.files} files, copied from {args.source})")
    if made.tests_dir:
        _print(f"tests: {made.tests_dir}")
    _print(f"app page: {made.page or 'the generic page'}")
    _print(f"next: dlsuite list; python -m pytest {made.tests_dir or ''}; dlsuite train {args.name} --set trainer.epochs=1")
    _print(f"then build its demo models for the app: dlsuite demo --build --only {args.name}")
    return 0


def _hub_list(args) -> int:
    from shared.hub.handles import REPO_ROOT, cache_entry
    from shared.hub.registry import HUB_MODELS

    discover()  # domains register their own offline backbones
    for name, model in HUB_MODELS.items():
        if model.local_dir:
            built = (REPO_ROOT / model.local_dir / "saved_model.pb").is_file()
            where = f"{model.local_dir} [{'built' if built else f'not built: dlsuite hub build {name}'}]"
        else:
            where = f"{model.handle} [{'cached' if cache_entry(model.handle).is_dir() else 'not cached'}]"
        _print(f"{name} ({model.task}, {model.output_dim}-d): {where}")
        spec = model.input
        value_range = f" in [{spec.value_range[0]:g}, {spec.value_range[1]:g}]" if spec.value_range else ""
        offline = f"; offline equivalent: {model.offline}" if model.offline else ""
        _print(f"  input {tuple(spec.shape)} {spec.dtype}{value_range}{offline}")
    return 0


def _hub_build(args) -> int:
    from shared.hub.offline import build_backbone

    discover()
    result = build_backbone(args.name, out_dir=args.out, epochs=args.epochs, limit=args.limit, data_dir=args.data)
    _print(f"built {result.metadata['name']}: {result.path} ({result.summary})")
    return 0


def cmd_hub(args) -> int:
    return {"list": _hub_list, "build": _hub_build}[args.hub_command](args)
