"""The synthetic demo data: a seeded card-transaction log and the credit-card format.

`generate_transactions` builds a realistic, seeded card-transaction log with
labelled fraud, so the domain can be demonstrated, tested and benchmarked
without any download. `generate_creditcard_format` builds a small synthetic
frame in the public Kaggle credit-card format (`CREDITCARD_COLUMNS`) for
testing that loader offline.

The generator's world: cardholders live in domestic cities and have a spending
level, favourite categories, an activity rate and a travel habit; merchants
belong to one category. Legitimate spending follows a daily rhythm (quiet
nights, lunch and evening peaks) and each card's habits. Fraud follows five
mechanisms (`FRAUD_PATTERNS`), each leaving its own trace in the features:

- `card_testing`: stolen card numbers checked with bursts of tiny online
  purchases, seconds to minutes apart, from a far-away IP, mostly at a few
  lax online merchants.
- `account_takeover`: a hijacked online account buys electronics or travel
  for several times the card's usual amount, mostly at night, from far away.
- `skimming_cashout`: a few compromised gas stations and restaurants skim
  cards; days later cloned magstripe cards (channel `swipe`) withdraw round
  sums at ATMs abroad or in another city.
- `bust_out`: a new card opened under a synthetic identity makes a few small
  normal purchases, then quickly escalating ones before it is abandoned.
- `lost_card_contactless`: a lost or stolen card is tapped repeatedly near
  the owner's home for amounts just below the no-PIN contactless limit.

Feature notes: `amount_to_card_mean` divides the amount by the mean of the
card's earlier amounts (1.0 on a card's first transaction), so it uses no
future information; `seconds_since_last` is `FIRST_GAP_SECONDS` on a card's
first transaction. The `fraud_pattern` column is analysis metadata only and
must be dropped from model features, as must `is_fraud` (the label) and the
identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CATEGORIES = (
    "grocery",
    "gas",
    "restaurant",
    "online_retail",
    "travel",
    "electronics",
    "entertainment",
    "health",
    "utilities",
    "atm",
)
CHANNELS = ("chip", "swipe", "online", "contactless")
FRAUD_PATTERNS = (
    "card_testing",
    "account_takeover",
    "skimming_cashout",
    "bust_out",
    "lost_card_contactless",
)
TRANSACTION_COLUMNS = [
    "transaction_id",
    "card_id",
    "timestamp",
    "amount",
    "merchant_id",
    "category",
    "channel",
    "hour",
    "seconds_since_last",
    "amount_to_card_mean",
    "distance_from_home_km",
    "foreign",
    "card_age_days",
    "is_fraud",
    "fraud_pattern",
]
# Columns that leak the label or identify rows; never feed them to a model.
NON_FEATURE_COLUMNS = (
    "transaction_id",
    "card_id",
    "merchant_id",
    "timestamp",
    "is_fraud",
    "fraud_pattern",
)
FIRST_GAP_SECONDS = 30 * 86_400.0

_SPAN_DAYS = 90
_DAY = 86_400.0
_CAT = {name: i for i, name in enumerate(CATEGORIES)}
_CH = {name: i for i, name in enumerate(CHANNELS)}
_CATEGORY_WEIGHTS = np.array([0.20, 0.12, 0.17, 0.15, 0.02, 0.03, 0.10, 0.06, 0.05, 0.10])
# Median amount (currency units) and log-normal sigma per category.
_AMOUNT_MEDIAN = np.array([45.0, 40.0, 30.0, 55.0, 350.0, 180.0, 20.0, 60.0, 90.0, 100.0])
_AMOUNT_SIGMA = np.array([0.6, 0.35, 0.6, 0.9, 0.8, 0.9, 0.8, 0.8, 0.5, 0.6])
# P(channel | category) over CHANNELS; ATM swipes exist (old cards) but are rare.
_CHANNEL_PROBS = np.array(
    [
        [0.45, 0.05, 0.05, 0.45],
        [0.55, 0.15, 0.00, 0.30],
        [0.40, 0.05, 0.10, 0.45],
        [0.00, 0.00, 1.00, 0.00],
        [0.15, 0.02, 0.83, 0.00],
        [0.35, 0.03, 0.50, 0.12],
        [0.15, 0.02, 0.60, 0.23],
        [0.45, 0.05, 0.15, 0.35],
        [0.00, 0.00, 1.00, 0.00],
        [0.97, 0.03, 0.00, 0.00],
    ]
)
# Legitimate activity by hour of day: quiet nights, lunch and evening peaks.
_HOUR_WEIGHTS = np.array(
    [0.6, 0.35, 0.25, 0.2, 0.25, 0.5, 1.2, 2.5, 3.5, 4.0, 4.5, 5.0,
     6.0, 5.5, 4.8, 4.8, 5.2, 6.0, 6.5, 6.0, 4.8, 3.5, 2.2, 1.2]
)
_HOUR_PROBS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
# Share of the fraud rows per entry of FRAUD_PATTERNS: card testing is the
# most frequent attack, lost cards the rarest.
_PATTERN_SHARES = np.array([0.25, 0.20, 0.20, 0.20, 0.15])
# Cardholders all live in domestic cities; foreign ones are 2000-8000 km away.
_N_DOMESTIC_CITIES, _N_FOREIGN_CITIES = 20, 8


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of `probs` (each row sums to 1)."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0])[:, None] * cumulative[:, -1:]
    return np.minimum((u >= cumulative).sum(axis=1), probs.shape[1] - 1)


def _offset(rng: np.random.Generator, mean_km: float, n: int) -> np.ndarray:
    """Random 2-D displacements (km) with exponentially distributed length."""
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = rng.exponential(mean_km, n)
    return np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None]


def _seconds_in_hours(rng: np.random.Generator, hours: np.ndarray) -> np.ndarray:
    return hours * 3600.0 + rng.uniform(0, 3600.0, hours.size)


def _events(rng: np.random.Generator, quota: int, low: int, high: int):
    """Split `quota` rows into events of `low..high` rows (the last one may be shorter).

    Returns `(event, position, n_events)`: each row's event index and its
    position inside the event.
    """
    sizes = rng.integers(low, high + 1, size=quota)
    ends = np.cumsum(sizes)
    n_events = int(np.searchsorted(ends, quota)) + 1
    sizes = sizes[:n_events]
    sizes[-1] -= ends[n_events - 1] - quota
    event = np.repeat(np.arange(n_events), sizes)
    position = np.arange(quota) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return event, position, n_events


def _burst_times(rng, event, position, starts, gap_mean: float, gap_min: float) -> np.ndarray:
    """Each event's start plus cumulative random gaps, so its rows come as a burst."""
    gaps = np.where(position == 0, 0.0, gap_min + rng.exponential(gap_mean, event.size))
    offsets = np.cumsum(gaps)
    first_rows = np.r_[0, np.flatnonzero(np.diff(event)) + 1]
    offsets -= np.repeat(offsets[first_rows], np.bincount(event))
    return starts[event] + offsets


def _rows(card, t, cat, channel, amount, merchant, where, foreign, pattern: str) -> dict:
    return {
        "card": card, "t": t, "cat": cat, "channel": channel, "amount": amount,
        "merchant": merchant, "where": where, "foreign": np.asarray(foreign, dtype=bool),
        "pattern": np.full(card.size, pattern),
    }


@dataclass
class _World:
    """Cities, cardholders and merchants shared by legitimate and fraud generators.

    Locations are (x, y) in km. Card arrays are indexed by card number; the
    first `n_cardholders` are ordinary customers.
    """

    rng: np.random.Generator
    city_xy: np.ndarray
    city_foreign: np.ndarray
    n_cardholders: int
    card_home: np.ndarray
    card_spend: np.ndarray
    card_pref: np.ndarray
    card_activity: np.ndarray
    card_travel: np.ndarray
    card_open_day: np.ndarray  # relative to `start`; negative: issued before the period
    merchant_cat: np.ndarray
    merchant_popularity: np.ndarray

    @classmethod
    def build(cls, rng: np.random.Generator, n_cards: int, n_merchants: int) -> _World:
        domestic_xy = rng.uniform(0, 1500, size=(_N_DOMESTIC_CITIES, 2))
        angle = rng.uniform(0, 2 * np.pi, _N_FOREIGN_CITIES)
        radius = rng.uniform(2000, 8000, _N_FOREIGN_CITIES)
        foreign_xy = 750 + np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None]
        population = rng.pareto(1.2, _N_DOMESTIC_CITIES) + 1
        city_xy = np.vstack([domestic_xy, foreign_xy])
        home_city = rng.choice(_N_DOMESTIC_CITIES, n_cards, p=population / population.sum())
        new_card = rng.random(n_cards) < 0.08
        extra_merchants = np.tile(_CATEGORY_WEIGHTS, (n_merchants - len(CATEGORIES), 1))
        return cls(
            rng=rng,
            city_xy=city_xy,
            city_foreign=np.arange(len(city_xy)) >= _N_DOMESTIC_CITIES,
            n_cardholders=n_cards,
            card_home=city_xy[home_city] + rng.normal(0, 8, size=(n_cards, 2)),
            card_spend=rng.lognormal(0, 0.45, n_cards),
            card_pref=rng.dirichlet(_CATEGORY_WEIGHTS * 15, size=n_cards),
            card_activity=rng.gamma(2.0, 0.5, n_cards),
            card_travel=rng.beta(1.0, 25.0, n_cards),
            card_open_day=np.where(
                new_card, rng.uniform(-45, 60, n_cards), -rng.uniform(60, 3650, n_cards)
            ),
            # Every category gets one merchant first, so no category is empty.
            merchant_cat=np.r_[np.arange(len(CATEGORIES)), _pick(rng, extra_merchants)],
            merchant_popularity=rng.lognormal(0, 1.0, n_merchants),
        )

    def merchants_of(self, category: int) -> np.ndarray:
        return np.flatnonzero(self.merchant_cat == category)

    def merchants_for(self, categories: np.ndarray) -> np.ndarray:
        """A merchant of each row's category, popular ones more often."""
        out = np.empty(categories.size, dtype=np.int64)
        for c in range(len(CATEGORIES)):
            rows = np.flatnonzero(categories == c)
            if rows.size:
                pool = self.merchants_of(c)
                p = self.merchant_popularity[pool] / self.merchant_popularity[pool].sum()
                out[rows] = pool[self.rng.choice(pool.size, rows.size, p=p)]
        return out

    def typical_amount(self, cards: np.ndarray, categories: np.ndarray) -> np.ndarray:
        return _AMOUNT_MEDIAN[categories] * self.card_spend[cards]

    def victims(self, n: int) -> np.ndarray:
        """Cards issued before the period, so stolen-card fraud hits a card with a history."""
        established = np.flatnonzero(self.card_open_day[: self.n_cardholders] < 0)
        return self.rng.choice(established, n)

    def cities(self, n: int, p_foreign: float) -> np.ndarray:
        """Random city indices, foreign with probability `p_foreign`."""
        abroad = self.rng.random(n) < p_foreign
        return np.where(
            abroad,
            self.rng.integers(_N_DOMESTIC_CITIES, len(self.city_xy), n),
            self.rng.integers(0, _N_DOMESTIC_CITIES, n),
        )

    def add_cards(self, n: int, open_day: np.ndarray) -> np.ndarray:
        """Append `n` cards with fresh homes and modest spending; returns their numbers."""
        homes = self.city_xy[self.rng.integers(0, _N_DOMESTIC_CITIES, n)]
        self.card_home = np.vstack([self.card_home, homes + self.rng.normal(0, 8, (n, 2))])
        self.card_spend = np.r_[self.card_spend, self.rng.lognormal(-0.3, 0.2, n)]
        self.card_open_day = np.r_[self.card_open_day, open_day]
        return np.arange(self.card_spend.size - n, self.card_spend.size)


def _legitimate(world: _World, n: int) -> dict:
    """Everyday purchases following each card's habits and the daily rhythm."""
    rng = world.rng
    card = rng.choice(world.n_cardholders, n, p=world.card_activity / world.card_activity.sum())
    first_day = np.maximum(0.0, np.ceil(world.card_open_day[card]))
    day = np.floor(first_day + rng.random(n) * (_SPAN_DAYS - first_day))
    t = day * _DAY + _seconds_in_hours(rng, rng.choice(24, n, p=_HOUR_PROBS))
    # Shopping trips: some purchases follow the card's previous one within minutes.
    order = np.lexsort((t, card))
    follows = np.zeros(n, bool)
    follows[order[1:]] = (card[order[1:]] == card[order[:-1]]) & (rng.random(n - 1) < 0.12)
    previous = np.empty(n, dtype=np.int64)
    previous[order[1:]] = order[:-1]
    t[follows] = t[previous[follows]] + 120 + rng.exponential(1200, int(follows.sum()))
    cat = _pick(rng, world.card_pref[card])
    channel = _pick(rng, _CHANNEL_PROBS[cat])
    amount = world.typical_amount(card, cat) * rng.lognormal(0, _AMOUNT_SIGMA[cat])
    atm = cat == _CAT["atm"]
    amount[atm] = np.maximum(20, np.round(amount[atm] / 20) * 20)
    online = channel == _CH["online"]
    where = world.card_home[card] + _offset(rng, 6, n)
    travelling = ~online & (rng.random(n) < world.card_travel[card])
    dest = world.cities(n, p_foreign=0.25)
    where[travelling] = world.city_xy[dest[travelling]] + rng.normal(0, 5, (travelling.sum(), 2))
    # Online, the location is the IP's; a few shoppers use a VPN or are away.
    vpn = online & (rng.random(n) < 0.03)
    where[online] = world.card_home[card[online]] + _offset(rng, 3, int(online.sum()))
    where[vpn] = world.city_xy[dest[vpn]]
    cross_border_shop = online & (rng.random(n) < 0.04)
    foreign = (travelling & world.city_foreign[dest]) | cross_border_shop
    return _rows(card, t, cat, channel, amount, world.merchants_for(cat), where, foreign, "none")


def _bust_out(world: _World, quota: int) -> tuple[dict, dict]:
    """New synthetic-identity cards: a few normal purchases, then escalating ones.

    Returns `(build_up, fraud)`; the build-up purchases look like any new
    customer's and are labelled legitimate.
    """
    rng = world.rng
    event, position, n_events = _events(rng, quota, 4, 8)
    cards = world.add_cards(n_events, open_day=rng.uniform(0, _SPAN_DAYS - 25, n_events))

    build_card = np.repeat(cards, rng.integers(2, 4, n_events))
    n_build = build_card.size
    build_cat = rng.choice([_CAT["grocery"], _CAT["restaurant"], _CAT["gas"]], n_build)
    build_day = np.floor(world.card_open_day[build_card] + rng.uniform(0.5, 8, n_build))
    build = _rows(
        build_card,
        build_day * _DAY + _seconds_in_hours(rng, rng.choice(24, n_build, p=_HOUR_PROBS)),
        build_cat,
        np.full(n_build, _CH["chip"]),
        world.typical_amount(build_card, build_cat) * rng.lognormal(-0.2, 0.3, n_build),
        world.merchants_for(build_cat),
        world.card_home[build_card] + _offset(rng, 5, n_build),
        np.zeros(n_build),
        "none",
    )

    card = cards[event]
    starts = (world.card_open_day[cards] + rng.uniform(9, 16, n_events)) * _DAY
    cat = rng.choice(
        [_CAT["electronics"], _CAT["online_retail"], _CAT["travel"]], card.size, p=[0.5, 0.3, 0.2]
    )
    # Each purchase ~1.7x the previous one.
    amount = 60 * world.card_spend[card] * 1.7**position * rng.lognormal(0, 0.15, card.size)
    fraud = _rows(
        card,
        _burst_times(rng, event, position, starts, gap_mean=5 * 3600, gap_min=600),
        cat,
        np.where(rng.random(card.size) < 0.5, _CH["online"], _CH["chip"]),
        amount,
        world.merchants_for(cat),
        world.card_home[card] + _offset(rng, 6, card.size),
        np.zeros(card.size),
        "bust_out",
    )
    return build, fraud


def _card_testing(world: _World, quota: int) -> dict:
    """Stolen numbers checked with bursts of tiny online purchases from a far-away IP."""
    rng = world.rng
    event, position, n_events = _events(rng, quota, 3, 8)
    card = world.victims(n_events)[event]
    starts = rng.uniform(0, _SPAN_DAYS * _DAY - 3600, n_events)
    pool = np.r_[
        world.merchants_of(_CAT["online_retail"]), world.merchants_of(_CAT["entertainment"])
    ]
    # Fraudsters favour a few merchants with lax checks.
    lax = rng.choice(pool, min(3, pool.size), replace=False)
    merchant = np.where(
        rng.random(n_events) < 0.7, rng.choice(lax, n_events), rng.choice(pool, n_events)
    )[event]
    ip_city = world.cities(n_events, p_foreign=0.3)[event]
    return _rows(
        card,
        _burst_times(rng, event, position, starts, gap_mean=60, gap_min=5),
        world.merchant_cat[merchant],
        np.full(card.size, _CH["online"]),
        np.where(rng.random(card.size) < 0.2, 1.0, rng.uniform(0.5, 4.99, card.size)),
        merchant,
        world.city_xy[ip_city],
        world.city_foreign[ip_city],
        "card_testing",
    )


def _account_takeover(world: _World, quota: int) -> dict:
    """A hijacked online account buys electronics or travel for several times the usual."""
    rng = world.rng
    event, position, n_events = _events(rng, quota, 1, 4)
    card = world.victims(n_events)[event]
    hours = np.where(
        rng.random(n_events) < 0.7, rng.integers(0, 6, n_events), rng.integers(0, 24, n_events)
    )
    starts = rng.integers(0, _SPAN_DAYS, n_events) * _DAY + _seconds_in_hours(rng, hours)
    cat = rng.choice(
        [_CAT["electronics"], _CAT["travel"], _CAT["online_retail"]], card.size, p=[0.5, 0.35, 0.15]
    )
    ip_city = world.cities(n_events, p_foreign=0.4)[event]
    return _rows(
        card,
        _burst_times(rng, event, position, starts, gap_mean=1800, gap_min=60),
        cat,
        np.full(card.size, _CH["online"]),
        world.typical_amount(card, cat) * rng.uniform(3, 12, card.size),
        world.merchants_for(cat),
        world.city_xy[ip_city] + rng.normal(0, 5, (card.size, 2)),
        world.city_foreign[ip_city],
        "account_takeover",
    )


def _skimming_cashout(world: _World, quota: int, legit: dict) -> dict:
    """Cards skimmed at compromised merchants, cloned, and emptied at ATMs days later."""
    rng = world.rng
    event, position, n_events = _events(rng, quota, 2, 5)
    span = _SPAN_DAYS * _DAY
    pool = np.r_[world.merchants_of(_CAT["gas"]), world.merchants_of(_CAT["restaurant"])]
    # Busy merchants make attractive skimming targets.
    compromised = pool[np.argsort(-world.merchant_popularity[pool], kind="stable")[:3]]
    early = legit["t"] < span - 4 * _DAY
    visits = np.flatnonzero(np.isin(legit["merchant"], compromised) & early)
    if visits.size == 0:  # a tiny world may have no such visit; any early purchase will do
        visits = np.flatnonzero(early)
    visit = rng.choice(visits, n_events, replace=visits.size < n_events)
    delay = np.minimum(rng.uniform(2, 25, n_events) * _DAY, span - 2 * _DAY - legit["t"][visit])
    starts = legit["t"][visit] + delay
    cash_city = world.cities(n_events, p_foreign=0.65)[event]
    atm = np.full(event.size, _CAT["atm"])
    return _rows(
        legit["card"][visit][event],
        _burst_times(rng, event, position, starts, gap_mean=600, gap_min=60),
        atm,
        # Cloned cards carry only the magstripe.
        np.full(event.size, _CH["swipe"]),
        rng.choice([200.0, 300.0, 400.0, 500.0, 600.0, 800.0], event.size),
        world.merchants_for(atm),
        world.city_xy[cash_city] + rng.normal(0, 5, (event.size, 2)),
        world.city_foreign[cash_city],
        "skimming_cashout",
    )


def _lost_card_contactless(world: _World, quota: int) -> dict:
    """A found card tapped repeatedly near the owner's home, just under the no-PIN limit."""
    rng = world.rng
    event, position, n_events = _events(rng, quota, 3, 7)
    card = world.victims(n_events)[event]
    hours = rng.integers(8, 21, n_events)
    starts = rng.integers(0, _SPAN_DAYS, n_events) * _DAY + _seconds_in_hours(rng, hours)
    shops = [_CAT[c] for c in ("grocery", "restaurant", "health", "gas", "entertainment")]
    cat = rng.choice(shops, card.size)
    return _rows(
        card,
        _burst_times(rng, event, position, starts, gap_mean=600, gap_min=120),
        cat,
        np.full(card.size, _CH["contactless"]),
        rng.uniform(40, 99.99, card.size),
        world.merchants_for(cat),
        world.card_home[card] + _offset(rng, 10, card.size),
        np.zeros(card.size),
        "lost_card_contactless",
    )


def _per_card_features(card: np.ndarray, t: np.ndarray, amount: np.ndarray):
    """`seconds_since_last` and `amount_to_card_mean` from each card's earlier rows only.

    Rows must already be in time order.
    """
    n = t.size
    by_card = np.lexsort((np.arange(n), card))  # stable, so time order holds within a card
    c, ts, a = card[by_card], t[by_card], amount[by_card]
    first = np.r_[True, c[1:] != c[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    gap = np.where(first, FIRST_GAP_SECONDS, np.r_[0.0, np.diff(ts)])
    cum = np.cumsum(a)
    prior_sum = cum - a - np.where(group_start > 0, cum[group_start - 1], 0.0)
    prior_count = np.arange(n) - group_start
    prior_mean = np.where(first, a, prior_sum / np.maximum(prior_count, 1))
    seconds_since_last = np.empty(n)
    seconds_since_last[by_card] = gap
    amount_to_card_mean = np.empty(n)
    amount_to_card_mean[by_card] = a / prior_mean
    return seconds_since_last, amount_to_card_mean


def generate_transactions(
    n_transactions: int = 50_000,
    seed: int = 0,
    fraud_rate: float = 0.01,
    n_cards: int | None = None,
    n_merchants: int | None = None,
    start: str = "2024-01-01",
) -> pd.DataFrame:
    """Synthetic card transactions over 90 days with five labelled fraud patterns.

    Deterministic: the same arguments give an identical frame. About 0.3 s
    per 100k rows.

    Args:
        n_transactions: int >= 1000. Rows to generate. Defaults to `50_000`.
        seed: int. Seed of the `numpy.random.Generator`. Defaults to `0`.
        fraud_rate: float in [0.005, 0.02]. Share of fraud rows, exact up to
            rounding to whole rows, split across `FRAUD_PATTERNS`. Defaults
            to `0.01`.
        n_cards: int >= 10 or None. Ordinary cardholders; bust-out cards
            come on top. Defaults to `None`, meaning one per 40 transactions
            (at least 50).
        n_merchants: int >= 20 or None. Merchants; each category gets at
            least one. Defaults to `None`, meaning one per 250 transactions
            (at least 40).
        start: str. First day of the period, anything `pandas.Timestamp`
            parses. Defaults to `"2024-01-01"`.

    Returns:
        `pandas.DataFrame` with `TRANSACTION_COLUMNS`, sorted by timestamp:
        `transaction_id`, `card_id`, `merchant_id`, `category`, `channel` and
        `fraud_pattern` (`"none"` or a `FRAUD_PATTERNS` name) are strings;
        `timestamp` is datetime64[ns]; `amount` (2 decimals),
        `seconds_since_last`, `amount_to_card_mean` and
        `distance_from_home_km` are float64; `hour`, `foreign` (0/1),
        `card_age_days` and `is_fraud` (0/1) are int64. Drop
        `NON_FEATURE_COLUMNS` (which include `fraud_pattern`) before
        training.

    Example:

    ```python
    df = generate_transactions(20_000, seed=1)
    df.groupby("fraud_pattern").size()  # "none" plus the five patterns
    ```
    """
    if int(n_transactions) != n_transactions or n_transactions < 1000:
        raise ValueError(
            "`n_transactions` must be an integer >= 1000 so every fraud pattern appears. "
            f"Received: n_transactions={n_transactions}"
        )
    if not 0.005 <= fraud_rate <= 0.02:
        raise ValueError(
            f"`fraud_rate` must be between 0.005 and 0.02. Received: fraud_rate={fraud_rate}"
        )
    n_transactions = int(n_transactions)
    n_cards = max(50, n_transactions // 40) if n_cards is None else n_cards
    n_merchants = max(40, n_transactions // 250) if n_merchants is None else n_merchants
    if int(n_cards) != n_cards or n_cards < 10:
        raise ValueError(f"`n_cards` must be an integer >= 10. Received: n_cards={n_cards}")
    if int(n_merchants) != n_merchants or n_merchants < 20:
        raise ValueError(
            f"`n_merchants` must be an integer >= 20. Received: n_merchants={n_merchants}"
        )
    try:
        start_day = pd.Timestamp(start).normalize()
    except (ValueError, TypeError):
        raise ValueError(
            f"`start` must be a date such as '2024-01-01'. Received: start={start!r}"
        ) from None

    world = _World.build(np.random.default_rng(seed), int(n_cards), int(n_merchants))
    n_fraud = int(round(fraud_rate * n_transactions))
    quota = np.maximum(1, np.floor(_PATTERN_SHARES * n_fraud)).astype(np.int64)
    quota[0] += n_fraud - quota.sum()
    card_testing, takeover, skimming, bust_out, lost = (int(q) for q in quota)

    build_up, bust_out_rows = _bust_out(world, bust_out)
    legit = _legitimate(world, n_transactions - n_fraud - build_up["card"].size)
    parts = [
        legit,
        build_up,
        bust_out_rows,
        _card_testing(world, card_testing),
        _account_takeover(world, takeover),
        _skimming_cashout(world, skimming, legit),
        _lost_card_contactless(world, lost),
    ]
    cols = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    t = np.clip(np.floor(cols["t"]), 0, _SPAN_DAYS * _DAY - 1)
    order = np.lexsort((cols["card"], t))
    t = t[order]
    cols = {key: value[order] for key, value in cols.items()}
    card = cols["card"]
    amount = np.maximum(0.01, np.round(cols["amount"], 2))
    seconds_since_last, amount_to_card_mean = _per_card_features(card, t, amount)
    card_age = np.floor(t / _DAY - world.card_open_day[card])
    distance = np.linalg.norm(cols["where"] - world.card_home[card], axis=1)
    card_digits = max(6, len(str(world.card_spend.size)))
    frame = pd.DataFrame(
        {
            "transaction_id": [f"T{i:0{max(7, len(str(t.size)))}d}" for i in range(t.size)],
            "card_id": [f"C{c:0{card_digits}d}" for c in card],
            "timestamp": start_day + pd.to_timedelta(t.astype(np.int64), unit="s"),
            "amount": amount,
            "merchant_id": [f"M{m:05d}" for m in cols["merchant"]],
            "category": np.asarray(CATEGORIES, dtype=object)[cols["cat"]],
            "channel": np.asarray(CHANNELS, dtype=object)[cols["channel"]],
            "hour": ((t % _DAY) // 3600).astype(np.int64),
            "seconds_since_last": seconds_since_last,
            "amount_to_card_mean": np.round(amount_to_card_mean, 4),
            "distance_from_home_km": np.round(distance, 2),
            "foreign": cols["foreign"].astype(np.int64),
            "card_age_days": np.maximum(0, card_age).astype(np.int64),
            "is_fraud": (cols["pattern"] != "none").astype(np.int64),
            "fraud_pattern": cols["pattern"].astype(object),
        }
    )
    for column in ("transaction_id", "card_id", "merchant_id", "category", "channel"):
        frame[column] = frame[column].astype(str)
    frame["fraud_pattern"] = frame["fraud_pattern"].astype(str)
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns]")
    return frame


CREDITCARD_COLUMNS = ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]

# Components on which fraud rows of the public data set differ most, with the
# direction of the shift (in standard deviations).
_CREDITCARD_SHIFTS = {
    "V1": -1.5, "V3": -2.5, "V4": 2.0, "V10": -2.5,
    "V11": 1.8, "V12": -3.0, "V14": -3.5, "V17": -2.5,
}


def generate_creditcard_format(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Synthetic rows in the public Kaggle credit-card format, for offline loader tests.

    The data is synthetic: `V1`..`V28` are independent standard normals
    standing in for the anonymised PCA components, with fraud rows shifted
    on a few of them (V1, V3, V4, V10, V11, V12, V14, V17) the way the real
    data differ; `Time` is seconds since the first row over two days;
    `Amount` is log-normal; about 1% of rows have `Class` 1. It has the real
    format's columns and dtypes but none of its statistics beyond that.

    Args:
        n: int >= 100. Rows to generate. Defaults to `2000`.
        seed: int. Seed of the `numpy.random.Generator`. Defaults to `0`.

    Returns:
        `pandas.DataFrame` with `CREDITCARD_COLUMNS`: `Time`, `V1`..`V28` and
        `Amount` float64, `Class` int64 (0/1), sorted by `Time`.
    """
    if int(n) != n or n < 100:
        raise ValueError(f"`n` must be an integer >= 100. Received: n={n}")
    n = int(n)
    rng = np.random.default_rng(seed)
    label = np.zeros(n, dtype=np.int64)
    label[rng.choice(n, max(2, round(0.01 * n)), replace=False)] = 1
    components = rng.normal(size=(n, 28))
    for name, shift in _CREDITCARD_SHIFTS.items():
        components[label == 1, int(name[1:]) - 1] += shift
    time = np.sort(rng.uniform(0, 172_792, n)).round()
    time -= time[0]
    amount = np.round(rng.lognormal(3.0, 1.4, n), 2)
    frame = pd.DataFrame(components, columns=CREDITCARD_COLUMNS[1:29])
    frame.insert(0, "Time", time)
    frame["Amount"] = amount
    frame["Class"] = label
    return frame
