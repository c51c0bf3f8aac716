import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score

from domains.fraud_detection.synthetic import (
    CATEGORIES,
    CHANNELS,
    CREDITCARD_COLUMNS,
    FIRST_GAP_SECONDS,
    FRAUD_PATTERNS,
    NON_FEATURE_COLUMNS,
    TRANSACTION_COLUMNS,
    generate_creditcard_format,
    generate_transactions,
)

STRING_COLUMNS = [
    "transaction_id", "card_id", "merchant_id", "category", "channel", "fraud_pattern"
]
FLOAT_COLUMNS = ["amount", "seconds_since_last", "amount_to_card_mean", "distance_from_home_km"]
INT_COLUMNS = ["hour", "foreign", "card_age_days", "is_fraud"]


@pytest.fixture(scope="module")
def frame():
    return generate_transactions(20_000, seed=7)


def test_same_seed_gives_identical_frame_and_other_seed_differs():
    a = generate_transactions(3_000, seed=11)
    pd.testing.assert_frame_equal(a, generate_transactions(3_000, seed=11))
    b = generate_transactions(3_000, seed=12)
    assert not a["amount"].equals(b["amount"])


def test_columns_and_dtypes(frame):
    assert list(frame.columns) == TRANSACTION_COLUMNS
    assert len(frame) == 20_000
    for column in STRING_COLUMNS:
        assert pd.api.types.is_string_dtype(frame[column]), column
    assert frame["timestamp"].dtype == "datetime64[ns]"
    for column in FLOAT_COLUMNS:
        assert frame[column].dtype == np.float64, column
    for column in INT_COLUMNS:
        assert frame[column].dtype == np.int64, column
    assert frame["transaction_id"].is_unique
    assert set(frame["category"]) == set(CATEGORIES)
    assert set(frame["channel"]) == set(CHANNELS)
    assert (frame["amount"] == frame["amount"].round(2)).all() and (frame["amount"] > 0).all()
    assert frame["hour"].between(0, 23).all() and (frame["card_age_days"] >= 0).all()
    assert set(frame["foreign"]) == {0, 1} and (frame["distance_from_home_km"] >= 0).all()
    assert (frame["hour"] == frame["timestamp"].dt.hour).all()
    assert "fraud_pattern" in NON_FEATURE_COLUMNS and "is_fraud" in NON_FEATURE_COLUMNS


def test_sorted_by_timestamp_within_90_days(frame):
    assert frame["timestamp"].is_monotonic_increasing
    assert frame["timestamp"].min() >= pd.Timestamp("2024-01-01")
    assert frame["timestamp"].max() < pd.Timestamp("2024-03-31")
    shifted = generate_transactions(1_000, seed=0, start="2023-06-15")
    assert shifted["timestamp"].min() >= pd.Timestamp("2023-06-15")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("fraud_rate", [0.005, 0.01, 0.02])
def test_fraud_rate_and_every_pattern_present(seed, fraud_rate):
    df = generate_transactions(4_000, seed=seed, fraud_rate=fraud_rate)
    assert 0.005 <= df["is_fraud"].mean() <= 0.02
    assert df["is_fraud"].sum() == round(fraud_rate * 4_000)
    assert set(df["fraud_pattern"]) == {"none", *FRAUD_PATTERNS}
    assert ((df["fraud_pattern"] != "none") == (df["is_fraud"] == 1)).all()


def test_smallest_frame_still_has_every_pattern():
    df = generate_transactions(1_000, seed=5, fraud_rate=0.005)
    assert set(df["fraud_pattern"]) == {"none", *FRAUD_PATTERNS}


def test_patterns_leave_their_mechanism_in_the_features(frame):
    by = dict(tuple(frame.groupby("fraud_pattern")))
    legit = by["none"]
    testing = by["card_testing"]
    assert (testing["amount"] < 5).all() and (testing["channel"] == "online").all()
    assert testing["seconds_since_last"].median() < 600
    takeover = by["account_takeover"]
    assert takeover["category"].isin(["electronics", "travel", "online_retail"]).all()
    assert takeover["amount_to_card_mean"].median() > 3
    assert (takeover["hour"] < 6).mean() > 0.5 > (legit["hour"] < 6).mean()
    assert takeover["distance_from_home_km"].median() > 100
    skim = by["skimming_cashout"]
    assert (skim["category"] == "atm").all() and (skim["channel"] == "swipe").all()
    away = (skim["foreign"] == 1) | (skim["distance_from_home_km"] > 50)
    assert away.mean() > 0.8
    assert skim["foreign"].mean() > 5 * legit["foreign"].mean()
    bust = by["bust_out"]
    assert bust["card_age_days"].max() < 60 and bust["amount_to_card_mean"].median() > 2
    lost = by["lost_card_contactless"]
    assert (lost["channel"] == "contactless").all() and (lost["amount"] < 100).all()
    assert lost["seconds_since_last"].median() < 3600 < legit["seconds_since_last"].median()


def test_bust_out_amounts_escalate_on_young_cards(frame):
    bust = frame[frame["fraud_pattern"] == "bust_out"]
    rising = bust.groupby("card_id")["amount"].apply(lambda a: a.is_monotonic_increasing)
    assert rising.mean() > 0.8
    # Every row of a bust-out card, build-up purchases included, is from its first weeks.
    assert frame[frame["card_id"].isin(bust["card_id"])]["card_age_days"].max() < 60


def test_legitimate_daily_rhythm(frame):
    hours = frame.loc[frame["is_fraud"] == 0, "hour"].value_counts()
    assert hours[[2, 3, 4]].sum() * 10 < hours[[12, 18, 19]].sum()


def test_per_card_features_match_brute_force():
    df = generate_transactions(2_000, seed=3)
    for _, rows in list(df.groupby("card_id"))[:40]:
        gaps = rows["timestamp"].diff().dt.total_seconds().fillna(FIRST_GAP_SECONDS)
        np.testing.assert_allclose(rows["seconds_since_last"], gaps)
        prior_mean = rows["amount"].expanding().mean().shift(1).fillna(rows["amount"].iloc[0])
        expected = rows["amount"] / prior_mean
        np.testing.assert_allclose(rows["amount_to_card_mean"], expected, atol=1e-4)


def test_generates_100k_rows_quickly():
    start = time.perf_counter()
    df = generate_transactions(100_000, seed=0)
    assert time.perf_counter() - start < 5.0
    assert len(df) == 100_000


def test_model_can_learn_the_fraud(frame):
    numeric = frame.drop(columns=list(NON_FEATURE_COLUMNS)).select_dtypes("number")
    assert set(numeric.columns) == set(FLOAT_COLUMNS + INT_COLUMNS) - {"is_fraud"}
    half = len(frame) // 2  # time-ordered split: train on the first half
    x, y = numeric.to_numpy(), frame["is_fraud"].to_numpy()
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x[:half], y[:half])
    ap = average_precision_score(y[half:], model.predict_proba(x[half:])[:, 1])
    assert ap > 0.3, f"held-out average precision {ap:.3f}; base rate {y[half:].mean():.3f}"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fraud_rate": 0.03}, "Received: fraud_rate=0.03"),
        ({"fraud_rate": 0.001}, "Received: fraud_rate=0.001"),
        ({"n_transactions": 999}, "Received: n_transactions=999"),
        ({"n_cards": 5}, "Received: n_cards=5"),
        ({"n_merchants": 10}, "Received: n_merchants=10"),
        ({"start": "not a date"}, "Received: start='not a date'"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_transactions(**{"n_transactions": 1_000, **kwargs})


def test_explicit_cards_and_merchants():
    df = generate_transactions(2_000, seed=0, n_cards=20, n_merchants=20)
    # Bust-out cards are opened on top of the ordinary cardholders.
    bust_cards = df.loc[df["fraud_pattern"] == "bust_out", "card_id"].unique()
    assert df.loc[~df["card_id"].isin(bust_cards), "card_id"].nunique() == 20
    assert df["merchant_id"].nunique() <= 20


def test_creditcard_format():
    df = generate_creditcard_format(3_000, seed=1)
    assert CREDITCARD_COLUMNS == ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]
    assert list(df.columns) == CREDITCARD_COLUMNS
    assert len(df) == 3_000
    assert (df.drop(columns="Class").dtypes == np.float64).all() and df["Class"].dtype == np.int64
    assert set(df["Class"]) == {0, 1} and df["Class"].sum() == 30
    assert df["Time"].iloc[0] == 0 and df["Time"].is_monotonic_increasing
    assert df["Time"].max() <= 172_792 and (df["Amount"] >= 0).all()
    fraud, legit = df[df["Class"] == 1], df[df["Class"] == 0]
    assert fraud["V14"].mean() < legit["V14"].mean() - 2
    pd.testing.assert_frame_equal(df, generate_creditcard_format(3_000, seed=1))
    with pytest.raises(ValueError, match="Received: n=10"):
        generate_creditcard_format(10)
