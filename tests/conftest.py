import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# A tiny, fast configuration shared by tests that need a trained fraud run.
TINY_FRAUD = [
    "data.synthetic_rows=3000",
    "trainer.epochs=2",
    "trainer.batch_size=256",
    "trainer.tensorboard=false",
    "model.hidden_units=[16]",
]


@pytest.fixture(scope="session")
def fraud_run(tmp_path_factory):
    """A trained fraud classifier run directory (tiny config, fixed seed)."""
    from shared.domain import get_task
    from shared.training.runner import prepare_run, train

    task = get_task("fraud_detection", "classifier")
    cfg = task.resolve_config(overrides=TINY_FRAUD)
    run_dir = prepare_run(task, cfg, tmp_path_factory.mktemp("runs") / "fraud")
    train(task, cfg, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def fraud_csv(tmp_path_factory):
    """A small labelled transactions CSV (synthetic, seed not used in training)."""
    from domains.fraud_detection.synthetic import generate_transactions

    path = tmp_path_factory.mktemp("data") / "transactions.csv"
    generate_transactions(1500, seed=99).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def fraud_pack(tmp_path_factory, fraud_csv):
    """`fraud_csv` packed for the fraud classifier (`dlsuite data pack`); copy it before damaging it."""
    from shared.domain import get_task

    task = get_task("fraud_detection", "classifier")
    out = tmp_path_factory.mktemp("packs") / "transactions"
    task.pack(task.resolve_config(overrides=["data.chunk_rows=400", "data.rows_per_shard=300"]), fraud_csv, out)
    return out
