"""`dlsuite new`: bad names are one line; a scaffolded domain is listed, tested, trained and served."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests_support import one_error_line, run_cli

from shared.domain import discover
from shared.errors import ConfigError
from shared.scaffold import check_name, new_domain

ROOT = Path(__file__).resolve().parents[2]
COPY_IGNORED = shutil.ignore_patterns(".git", ".venv", "runs", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "demo_models")


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("Speech", "invalid domain name 'Speech'"),
        ("speech-commands", "invalid domain name"),
        ("9lives", "invalid domain name"),
        ("class", "invalid domain name"),
        ("a__b", "invalid domain name"),
        ("shared", "it is reserved"),
        ("fraud_detection", "already exists"),
    ],
)
def test_bad_or_taken_names_are_one_line(capsys, name, fragment):
    code, out, err = run_cli(capsys, "new", name, "--from", "fraud_detection")
    assert code == 2
    one_error_line(err, fragment)


def test_unknown_source_and_bad_title_are_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "new", "acme", "--from", "no_such_domain")
    assert code == 2
    one_error_line(err, "unknown domain 'no_such_domain'")
    (tmp_path / "domains").mkdir()
    shutil.copytree(ROOT / "domains" / "fraud_detection", tmp_path / "domains" / "fraud_detection", ignore=COPY_IGNORED)
    source = discover().get("fraud_detection")
    with pytest.raises(ConfigError, match="--title must be one line"):
        new_domain(tmp_path, "acme", source, title='say "hi"')


def test_scaffold_renames_identifiers_and_writes_nothing_else(tmp_path):
    for part in ("domains", "tests/domains", "apps/pages"):
        (tmp_path / part).mkdir(parents=True)
    shutil.copytree(ROOT / "domains" / "fraud_detection", tmp_path / "domains" / "fraud_detection", ignore=COPY_IGNORED)
    shutil.copytree(ROOT / "tests" / "domains" / "fraud_detection", tmp_path / "tests" / "domains" / "fraud_detection", ignore=COPY_IGNORED)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    source = discover().get("fraud_detection")
    made = new_domain(tmp_path, "card_risk", source, title="Card risk", description="Scores card payments.")
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert all(p.parts[:2] == ("domains", "card_risk") or p.parts[:3] == ("tests", "domains", "card_risk") for p in set(after) - set(before))
    assert made.page is None and made.files > 5
    code = "\n".join(p.read_text() for p in (tmp_path / "domains" / "card_risk").rglob("*.py"))
    assert "fraud_detection" not in code
    assert 'name="card_risk"' in code and 'title="Card risk"' in code and "Scores card payments." in code
    check_name("card_risk2", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        check_name("card_risk", tmp_path)
    leftovers = [p for p in tmp_path.rglob(".card_risk.*")]
    assert not leftovers


def _run(cmd, cwd, timeout, **env_vars):
    env = {**os.environ, "PYTHONPATH": str(cwd), **env_vars}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return result


APP_CHECK = textwrap.dedent(
    """
    import sys
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file("apps/app.py", default_timeout=180).run()
    assert not at.exception, at.exception
    pages = {info.get("url_pathname"): info.get("script_path") for info in at._registered_pages.values()}
    assert pages["acme-risk"].endswith("pages/domain.py"), pages
    def page():
        from apps.components.domain_page import render
        from shared.domain import get_domain
        render(get_domain("acme_risk"))
    at = AppTest.from_function(page, default_timeout=180).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Acme risk"], [t.value for t in at.title]
    assert len(at.dataframe) >= 1 and len(at.dataframe[0].value) >= 1, "no predictions shown"
    print("APP OK")
    """
)


@pytest.mark.slow
def test_a_scaffolded_domain_is_listed_tested_trained_and_shown(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORED)
    cli = [sys.executable, "-m", "shared.cli.main"]
    made = _run([*cli, "new", "acme_risk", "--from", "fraud_detection", "--title", "Acme risk", "--description", "Scores Acme payments."], repo, 120)
    assert made.returncode == 0, made.stderr
    listed = _run([*cli, "list"], repo, 120)
    assert "acme_risk: Scores Acme payments." in listed.stdout, listed.stdout + listed.stderr
    tests = _run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", "tests/domains/acme_risk"], repo, 900)
    assert tests.returncode == 0, tests.stdout[-3000:]
    run_dir = tmp_path / "runs" / "acme-run"
    trained = _run([*cli, "train", "acme_risk", "--set", "trainer.epochs=1", "--run-dir", str(run_dir)], repo, 600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    example = _run(
        [sys.executable, "-c", "import sys; from shared.domain import get_task; print(*get_task('acme_risk').write_examples(__import__('pathlib').Path(sys.argv[1])).predict)", str(tmp_path / "ex")],
        repo,
        120,
    )
    assert example.returncode == 0, example.stderr[-2000:]
    predicted = _run([*cli, "predict", str(run_dir), *example.stdout.split()], repo, 300)
    assert predicted.returncode == 0 and len(predicted.stdout.splitlines()) >= 2, predicted.stderr[-2000:]
    check = repo / "app_check.py"  # AppTest.from_function reads the page function's source from a file; paths resolve from it
    check.write_text(APP_CHECK)
    shown = _run([sys.executable, str(check)], repo, 600, DLSUITE_RUNS_ROOT=str(tmp_path / "runs"))
    assert "APP OK" in shown.stdout, shown.stdout[-2000:] + shown.stderr[-3000:]
