import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

@pytest.fixture(scope="session")
def fraud_run(tmp_path_factory):
    """A trained fraud classifier run directory (tiny config, fixed seed)."""
    from tests_support import TINY_FRAUD, trained_run

    return trained_run("fraud_detection", "classifier", TINY_FRAUD, tmp_path_factory.mktemp("runs") / "fraud")


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
    from tests_support import packed_table

    return packed_table("fraud_detection", "classifier", fraud_csv, tmp_path_factory.mktemp("packs") / "transactions")

