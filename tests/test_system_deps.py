"""What CI installs with apt (`make system-deps`) is there: tests that skip without it must not be skipped in CI."""

import os

import pytest


@pytest.mark.skipif(not os.environ.get("CI"), reason="outside CI the speech tests skip, with a reason, when espeak-ng is missing")
def test_ci_has_espeak_ng():
    from shared.data import espeak

    assert espeak.available(), "CI=true but espeak-ng is not installed: every espeak-ng test would be skipped; `make system-deps` installs it"


@pytest.mark.skipif(not os.environ.get("CI"), reason="outside CI the WordNet tests skip, with a reason, when wordnet-base is missing")
def test_ci_has_wordnet():
    from shared.data import wordnet

    assert (wordnet.WORDNET_DIR / "data.noun").is_file(), "CI=true but WordNet is not installed: the offline text backbone's tests would be skipped; `make system-deps` installs wordnet-base"
