import tensorflow as tf

from shared.training import precision, strategy


def test_auto_on_cpu_is_the_default_strategy():
    s = strategy.resolve_strategy("auto")
    assert s.num_replicas_in_sync == 1
    assert strategy.describe(s)["replicas"] == 1


def test_auto_prefers_the_highest_priority_that_applies(monkeypatch):
    picked = []
    fake = strategy.StrategyFactory(build=lambda: picked.append("fake") or tf.distribute.get_strategy(), applies=lambda: True, priority=99)
    monkeypatch.setitem(strategy.STRATEGIES._items, "fake", fake)
    strategy.resolve_strategy("auto")
    assert picked == ["fake"]


def test_named_strategy():
    assert strategy.resolve_strategy("default").num_replicas_in_sync == 1


def test_precision_policy_on_cpu():
    assert precision.resolve_precision("auto") == "float32"  # no GPU here: fp16 would be slower
    assert precision.resolve_precision("on") == "mixed_float16"
    assert precision.resolve_precision("off") == "float32"
