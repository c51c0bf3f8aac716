"""Helpers for tests that run the real `dlsuite` command in a subprocess."""

import os
import sys

import pytest

# Tests that start TensorFlow processes of their own and hold them to
# deadlines (two workers on localhost, a killed and resumed run, memory
# sampling) carry this mark: under pytest-xdist (`make test`) they run one
# after another on one worker (`--dist loadgroup`), while the other workers
# take the rest.
PROCESSES = pytest.mark.xdist_group("processes")


# A tiny, fast configuration for tests that need a trained fraud run.
TINY_FRAUD = [
    "data.synthetic_rows=3000",
    "trainer.epochs=2",
    "trainer.batch_size=256",
    "trainer.tensorboard=false",
    "model.hidden_units=[16]",
]


def dlsuite_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "shared.cli.main", *args]


# Property tests feed random and mutated bytes to every reader. CI keeps the
# count small (FUZZ_EXAMPLES per test, no deadline: the first call of a
# TensorFlow reader traces a graph); DLSUITE_FUZZ_EXAMPLES raises it locally.
FUZZ_EXAMPLES = int(os.environ.get("DLSUITE_FUZZ_EXAMPLES", "40"))


def fuzz_settings(**overrides):
    """hypothesis settings shared by the reader fuzz tests."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        **overrides,
    )


def run_cli(capsys, *argv):
    """Run `dlsuite ARGV...` in this process; return (exit code, stdout, stderr)."""
    from shared.cli.main import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *fragments: str) -> str:
    """Progress lines aside, stderr holds one `dlsuite: error:` line with `fragments`, and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("dlsuite: error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def demo_run(domain: str, task: str):
    """The demo model of `domain`/`task` under data/demo_models; the test is skipped when it is not built.

    A domain's own tests use it, so that a domain just made by `dlsuite new`
    passes its tests before its demo models exist. That cannot hide a
    missing demo model in this repository: tests/shared/test_demo.py fails
    for every discovered domain whose demo models are not built.
    """
    from shared.demo import demo_run_dir

    path = demo_run_dir(domain, task)
    if not (path / "model.keras").is_file():
        pytest.skip(f"no demo model of {domain}/{task} under {path.parent.parent}; build it with `dlsuite demo --build --only {domain}`")
    return path


def trained_run(domain: str, task: str, overrides: list[str], run_dir):
    """Train `domain`/`task` with `overrides` into `run_dir` in this process; return `run_dir`."""
    from shared.domain import get_task
    from shared.training.runner import prepare_run, train

    chosen = get_task(domain, task)
    cfg = chosen.resolve_config(overrides=overrides)
    train(chosen, cfg, prepare_run(chosen, cfg, run_dir))
    return run_dir


def packed_table(domain: str, task: str, table, out, overrides: list[str] = ("data.chunk_rows=400", "data.rows_per_shard=300")):
    """`dlsuite data pack` of `table` for `domain`/`task` into `out` (small chunks and shards); return `out`."""
    from shared.domain import get_task

    chosen = get_task(domain, task)
    chosen.pack(chosen.resolve_config(overrides=list(overrides)), table, out)
    return out


def open_page(app_path, page: str, timeout: int = 180):
    """The app opened on `page` (e.g. "pages/driving.py") through its navigation, with no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(app_path), default_timeout=timeout).run()
    at.switch_page(page).run(timeout=timeout)
    assert not at.exception, at.exception
    return at


def page_ok(at) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def shown_metrics(at) -> dict[str, str]:
    """The page's metric cards, label -> shown value."""
    return {m.label: m.value for m in at.metric}


def demo_models_of(demo_models, domain: str, tasks):
    """`demo_models / domain`, after checking that every task's demo model is built."""
    root = demo_models / domain
    missing = [t for t in tasks if not (root / t / "model.keras").is_file()]
    assert not missing, f"{domain} demo models missing under {root}: {missing}; build them with `dlsuite demo --build --only {domain}`"
    return root
