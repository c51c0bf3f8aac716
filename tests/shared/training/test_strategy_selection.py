import json
import subprocess

import pytest
import tensorflow as tf
from tests_support import dlsuite_cmd

from shared.errors import ConfigError, UnsupportedError
from shared.training import cluster, precision, strategy


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(strategy.glob, "glob", lambda pattern: [])


def test_auto_on_cpu_is_the_default_strategy(no_accelerators):
    s = strategy.resolve_strategy("auto")
    assert s.num_replicas_in_sync == 1
    assert strategy.describe(s)["replicas"] == 1
    assert strategy.is_chief(s)


def test_auto_prefers_the_highest_priority_that_applies(monkeypatch):
    picked = []
    fake = strategy.StrategyFactory(build=lambda **_: picked.append("fake") or tf.distribute.get_strategy(), applies=lambda: True, priority=999)
    monkeypatch.setitem(strategy.STRATEGIES._items, "fake", fake)
    strategy.resolve_strategy("auto")
    assert picked == ["fake"]


def test_named_strategy():
    assert strategy.resolve_strategy("default").num_replicas_in_sync == 1


def test_precision_policy_on_cpu():
    assert precision.resolve_precision("auto") == "float32"  # no GPU here: fp16 would be slower
    assert precision.resolve_precision("on") == "mixed_float16"
    assert precision.resolve_precision("off") == "float32"


@pytest.mark.parametrize(
    "capabilities, expected",
    [
        ([(9, 0)], "mixed_float16"),  # H100: tensor cores
        ([(8, 0), (8, 0)], "mixed_float16"),  # two A100s
        ([(6, 1)], "float32"),  # a Pascal GPU: float16 would not pay off
        ([(8, 6), (6, 0)], "float32"),  # one old GPU in the set slows every replica down
        ([None], "mixed_float16"),  # no capability reported (e.g. ROCm): taken to be recent
    ],
)
def test_auto_mixed_precision_follows_the_gpus(monkeypatch, capabilities, expected):
    gpus = [tf.config.PhysicalDevice(name=f"/physical_device:GPU:{i}", device_type="GPU") for i in range(len(capabilities))]
    details = {g.name: ({} if c is None else {"compute_capability": c}) for g, c in zip(gpus, capabilities)}
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: details[device.name])
    assert precision.resolve_precision("auto") == expected
    assert precision.resolve_precision("off") == "float32"


# --- TPU: the selection logic, without a TPU -----------------------------------------
class TPUStrategyV2:  # named like TensorFlow's class; stands in for it
    num_replicas_in_sync = 8


def _picked_by_auto(monkeypatch, built):
    for name in ("tpu", "multi_worker"):
        factory = strategy.STRATEGIES.get(name)
        monkeypatch.setitem(strategy.STRATEGIES._items, name, strategy.StrategyFactory(lambda n=name, **_: built.append(n) or TPUStrategyV2(), factory.applies, factory.priority))
    return strategy.resolve_strategy("auto")


@pytest.mark.parametrize(
    "env, devices, expected",
    [
        ({"TPU_NAME": "my-tpu"}, [], "tpu"),  # a Cloud TPU node named in the environment
        ({}, ["/dev/accel0"], "tpu"),  # a Cloud TPU VM's local chips
        ({}, [], None),  # neither: no TPU
    ],
)
def test_tpu_is_selected_when_present(monkeypatch, env, devices, expected):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(strategy.glob, "glob", lambda pattern: devices if pattern.startswith("/dev/accel") else [])
    assert strategy.tpu_present() is (expected == "tpu")
    built: list = []
    _picked_by_auto(monkeypatch, built)
    assert built == ([expected] if expected else [])


def test_tpu_wins_over_a_cluster_and_uses_bfloat16(monkeypatch):
    monkeypatch.setenv("TPU_NAME", "local")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}))
    built: list = []
    chosen = _picked_by_auto(monkeypatch, built)
    assert built == ["tpu"]
    assert strategy.is_tpu(chosen) and strategy.is_chief(chosen)
    assert precision.resolve_precision("auto", chosen) == "mixed_bfloat16"
    assert precision.resolve_precision("on", chosen) == "mixed_bfloat16"
    assert precision.resolve_precision("off", chosen) == "float32"


def test_tpu_factory_uses_the_cluster_resolver_from_the_environment(monkeypatch):
    calls = []

    class Resolver:
        def __init__(self, tpu):
            calls.append(("resolver", tpu))

    monkeypatch.setenv("TPU_NAME", "grpc://10.0.0.2:8470")
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", Resolver)
    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster", lambda r: calls.append("connect"))
    monkeypatch.setattr(tf.tpu.experimental, "initialize_tpu_system", lambda r: calls.append("initialize"))
    monkeypatch.setattr(tf.distribute, "TPUStrategy", lambda r: calls.append("strategy") or TPUStrategyV2())
    assert isinstance(strategy._tpu(), TPUStrategyV2)
    assert calls == [("resolver", "grpc://10.0.0.2:8470"), "connect", "initialize", "strategy"]


def test_a_tpu_that_does_not_answer_is_one_clear_error(monkeypatch):
    from shared.errors import RunError

    def fail(tpu):
        raise ValueError("Please provide a TPU Name to connect to.\nmore detail")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", fail)
    with pytest.raises(RunError, match="no usable TPU at 'local': Please provide a TPU Name"):
        strategy._tpu()


# --- TF_CONFIG ------------------------------------------------------------------------
def _config(cluster_part, task=None):
    return json.dumps({"cluster": cluster_part, "task": task or {"type": "worker", "index": 0}})


def test_tf_config_is_read_and_names_the_chief():
    spec = cluster.read_tf_config(_config({"worker": ["h1:2222", "h2:2222"]}, {"type": "worker", "index": 1}))
    assert spec.size == 2 and spec.me == "h2:2222" and not spec.is_chief and spec.peers() == ["h1:2222"]
    assert cluster.read_tf_config(_config({"worker": ["h1:2222", "h2:2222"]})).is_chief
    with_chief = cluster.read_tf_config(_config({"chief": ["c:1"], "worker": ["w:1"]}, {"type": "worker", "index": 0}))
    assert not with_chief.is_chief
    assert cluster.read_tf_config("") is None


@pytest.mark.parametrize(
    "raw, message",
    [
        ('{"cluster": {"worker": ["a:1"]}, "task": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"task": {"type": "worker", "index": 0}}', "no 'cluster' object"),
        (json.dumps({"cluster": {"worker": ["a:1"]}}), "no 'task' object"),
        (_config({"worker": ["a:1"]}, {"type": "worker", "index": 3}), "task.index 3 is out of range"),
        (_config({"worker": ["a:1"]}, {"type": "chief", "index": 0}), "task.type 'chief' is not a role"),
        (_config({"worker": ["localhost"]}), "'host:port'"),
        (_config({"worker": ["a:99999"]}), "port in 1-65535"),
        (_config({"worker": "a:1,b:2"}), "non-empty list"),
        (_config({"workers": ["a:1"]}), "role 'workers' is unknown"),
        (_config({"worker": ["a:1", "a:1"]}), "same address twice"),
        (_config({"chief": ["a:1", "b:1"], "worker": ["c:1"]}), "at most one chief"),
    ],
)
def test_malformed_tf_config_is_one_clear_error(raw, message):
    with pytest.raises(ConfigError, match=message):
        cluster.read_tf_config(raw)


def test_parameter_servers_are_refused_plainly():
    with pytest.raises(UnsupportedError, match="parameter servers"):
        cluster.read_tf_config(_config({"worker": ["a:1"], "ps": ["p:1"]}))


def test_malformed_tf_config_from_the_cli_is_one_line(tmp_path):
    env = {**__import__("os").environ, "TF_CONFIG": '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker"'}
    result = subprocess.run(
        dlsuite_cmd("train", "fraud_detection", "--run-dir", str(tmp_path / "run"), "--set", "data.synthetic_rows=1000"),
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("dlsuite: error: TF_CONFIG is not valid JSON")
    assert "Traceback" not in result.stderr


def test_a_silent_peer_is_reported_within_the_timeout():
    spec = cluster.read_tf_config(_config({"worker": ["127.0.0.1:1", "127.0.0.1:9"]}))  # nothing listens there
    from shared.errors import RunError

    with pytest.raises(RunError, match=r"127.0.0.1:9 did not answer within 0.5 s"):
        cluster.wait_for_peers(spec, timeout=0.5, poll=0.1)
