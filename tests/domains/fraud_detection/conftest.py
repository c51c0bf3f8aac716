"""This domain's own fixtures, so that a copy made with `dlsuite new` trains and packs its own runs.

They shadow the repository-wide `fraud_run` and `fraud_pack` (tests/conftest.py)
for the tests in this folder.
"""

import pytest
from tests_support import TINY_FRAUD, packed_table, trained_run

DOMAIN = "fraud_detection"


@pytest.fixture(scope="session")
def fraud_run(tmp_path_factory):
    """A trained classifier run of this domain (tiny config, fixed seed)."""
    return trained_run(DOMAIN, "classifier", TINY_FRAUD, tmp_path_factory.mktemp("runs") / "domain-run")


@pytest.fixture(scope="session")
def fraud_pack(tmp_path_factory, fraud_csv):
    """`fraud_csv` packed for this domain's classifier; copy it before damaging it."""
    return packed_table(DOMAIN, "classifier", fraud_csv, tmp_path_factory.mktemp("packs") / "domain-pack")
