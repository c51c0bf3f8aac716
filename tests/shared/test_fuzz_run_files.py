"""Property test: any content of a run file opens cleanly or fails as one `DlsuiteError`.

Random bytes, truncated files and the original content with one value
replaced or deleted are written into `metadata.json`, `metrics.json`,
`status.json` and `config.yaml` of a copied demo run, which is then opened,
its task state and threshold read, its model checked and one row scored.
"""

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shared import run_files, runs
from shared.domain import get_task
from shared.errors import DlsuiteError
from tests.tests_support import fuzz_settings

SOURCE = Path(__file__).resolve().parents[2] / "data" / "demo_models" / "fraud_detection" / "classifier"
FILES = ("metadata.json", "metrics.json", "status.json", "config.yaml")

scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=12)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def _paths(node, prefix=()):
    """Key paths of every value inside a parsed file."""
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated(draw, original):
    """The parsed `original` with one value (at any depth) replaced, or one key or item deleted."""
    data = copy.deepcopy(original)
    path = draw(st.sampled_from(list(_paths(data))))
    if not path:
        return draw(values)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    return data


def _serialize(name: str, data) -> bytes:
    if name.endswith(".json"):
        return json.dumps(data).encode()  # NaN and Infinity included: json.loads reads them
    return yaml.safe_dump(data).encode()


def _contents(name: str, original: bytes):
    parsed = json.loads(original) if name.endswith(".json") else yaml.safe_load(original)
    truncated = st.integers(0, len(original) - 1).map(lambda n: original[:n])
    return st.one_of(st.binary(max_size=200), truncated, mutated(parsed).map(lambda d: _serialize(name, d)))


@pytest.fixture(scope="module")
def model():
    """The demo classifier's Keras model, loaded once; each example checks it against its own metadata."""
    if not (SOURCE / "model.keras").is_file():
        pytest.skip("the fraud demo model is not built (dlsuite demo --build)")
    get_task("fraud_detection", "classifier")  # registers the domain's layers
    return runs.Run.open(SOURCE).model


@pytest.fixture(scope="module")
def one_row():
    from domains.fraud_detection.synthetic import generate_transactions

    return generate_transactions(1000, seed=7).head(1)


def _open_and_score(run_dir: Path, model, frame) -> None:
    run = runs.Run.open(run_dir)
    task = get_task(run.domain_name, run.task_name)
    run.task_state(task.state_schema)
    run_files.check_model(model, run.metadata_file, run.path)
    run.__dict__["model"] = model  # the model file is not fuzzed: skip reloading it
    if hasattr(task, "score_frame"):
        task.score_frame(run, frame, "one row")


@pytest.mark.parametrize("name", FILES)
def test_any_run_file_content_is_success_or_one_error(tmp_path, model, one_row, name):
    run_dir = tmp_path / "run"
    shutil.copytree(SOURCE, run_dir, ignore=shutil.ignore_patterns("saved_model", "*.png"))
    original = (SOURCE / name).read_bytes()

    @fuzz_settings()
    @given(content=_contents(name, original))
    def check(content):
        (run_dir / name).write_bytes(content)
        try:
            _open_and_score(run_dir, model, one_row)
        except DlsuiteError as exc:
            message = str(exc)
            assert message and "\n" not in message, message

    check()
