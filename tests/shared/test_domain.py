"""The domain interface: discovery, errors, and an engine with no special cases.

`ToyTask` is a minimal domain task with variable-length inputs (padded per
batch) and a multi-output model: it trains through the same runner as every
real domain, which is the point of the interface.
"""

from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from shared.config import Section
from shared.data.pipeline import batched
from shared.domain import DataBundle, Domain, ModelSpec, Task, discover, get_task
from shared.errors import UnknownNameError, UnsupportedError
from shared.registry import Registry


class ToyData(Section):
    rows: int = 200


class ToyModel(Section):
    type: Literal["gru"] = "gru"
    units: int = 8


def build_toy(cfg, data):
    import keras

    from shared.layers import ClassificationHead, RecurrentBlock

    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(20, 8, mask_zero=True, name="embedding")(tokens)
    x = RecurrentBlock(cfg.units, cell="gru")(x)
    return keras.Model(
        tokens,
        {"is_long": ClassificationHead(1, name="is_long")(x), "length": keras.layers.Dense(1, dtype="float32", name="length")(x)},
    )


class ToyTask(Task):
    name = "toy"
    title = "Toy"
    data_config = ToyData
    preset = Path(__file__)  # replaced per test
    models = Registry("model type")
    models.register("gru", ModelSpec(ToyModel, build_toy))

    def preset_data(self):
        return {"data": {}, "model": {"type": "gru"}, "trainer": {"epochs": 2, "batch_size": 16, "tensorboard": False}}

    def load_data(self, cfg, workdir):
        import tensorflow as tf

        rng = np.random.default_rng(0)
        lengths = rng.integers(1, 12, size=cfg.data.rows)

        def gen():
            for n in lengths:
                yield rng.integers(1, 20, size=n).astype("int32"), {"is_long": np.float32(n > 6), "length": np.float32(n)}

        sig = (tf.TensorSpec([None], tf.int32), {"is_long": tf.TensorSpec([], tf.float32), "length": tf.TensorSpec([], tf.float32)})
        ds = tf.data.Dataset.from_generator(gen, output_signature=sig).cache()
        shapes = ([None], {"is_long": [], "length": []})
        return DataBundle(*(batched(ds, cfg.trainer.batch_size, padded_shapes=shapes) for _ in range(3)), provenance={"synthetic": True})

    def compile(self, model, cfg, make_optimizer):
        model.compile(optimizer=make_optimizer(), loss={"is_long": "binary_crossentropy", "length": "mse"})

    def evaluate(self, model, data, cfg, out_dir):
        return {"loss": float(model.evaluate(data.test, verbose=0, return_dict=True)["loss"])}


TOY = Domain(name="toy", title="Toy", description="test", task_classes=[ToyTask], default_task="toy")


def test_variable_length_multi_output_task_trains_through_the_runner(tmp_path):
    from shared.runs import Run
    from shared.training.runner import prepare_run, train

    task = TOY.task()
    cfg = task.resolve_config(overrides=["trainer.early_stopping.monitor=val_loss"])
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    result = train(task, cfg, run_dir)
    assert len(result.history["loss"]) == 2 and result.history["loss"][1] < result.history["loss"][0]
    model = Run.open(run_dir).model
    out = model.predict(np.array([[3, 4, 0, 0]], "int32"), verbose=0)
    assert set(out) == {"is_long", "length"}


def test_optional_capabilities_say_so():
    with pytest.raises(UnsupportedError, match="toy task 'toy' cannot predict"):
        TOY.task().predict(None, [])
    with pytest.raises(UnsupportedError, match="cannot explain"):
        TOY.task().explain(None, None)


def test_a_task_must_implement_its_data_and_evaluation():
    class Incomplete(Task):
        name = "half"

    with pytest.raises(TypeError, match="abstract"):
        Incomplete(TOY)


def test_default_task_must_exist():
    with pytest.raises(ValueError, match="default_task 'nope'"):
        Domain(name="x", title="x", description="", task_classes=[ToyTask], default_task="nope")


def test_discovery_finds_installed_domains():
    assert "fraud_detection" in discover()
    assert get_task("fraud_detection").name == "classifier"
    with pytest.raises(UnknownNameError, match="unknown domain 'nope'"):
        get_task("nope")


class TwoPhaseToy(ToyTask):
    """Phase 1 trains with the embedding frozen; phase 2 unfreezes it at a lower rate."""

    name = "two_phase"

    def phases(self, cfg):
        from shared.training.phases import Phase

        def freeze(model):
            model.get_layer("embedding").trainable = False

        def unfreeze(model):
            model.get_layer("embedding").trainable = True

        return [Phase("head", 2, prepare=freeze), Phase("fine_tune", 2, prepare=unfreeze, learning_rate_scale=0.1)]



TWO = Domain(name="toy2", title="Toy", description="test", task_classes=[TwoPhaseToy], default_task="two_phase")


def test_two_phase_training_freezes_then_fine_tunes_and_resumes_by_phase(tmp_path, capfd):
    import json

    import keras

    from shared.training.runner import prepare_run, train

    task = TWO.task()
    cfg = task.resolve_config(overrides=["trainer.early_stopping.enabled=false"])
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    keras.utils.set_random_seed(0)
    result = train(task, cfg, run_dir)
    assert len(result.history["loss"]) == 4
    status = json.loads((run_dir / "status.json").read_text())
    assert status["phases_done"] == ["fine_tune", "head"]

    def embedding(path):
        m = build_toy(cfg.model, None)
        m.load_weights(path)
        return m.get_layer("embedding").get_weights()[0]

    head = embedding(run_dir / "checkpoints" / "phase-head.weights.h5")
    tuned = embedding(run_dir / "checkpoints" / "phase-fine_tune.weights.h5")
    assert not np.allclose(head, tuned)  # phase 2 trained the embedding

    # A rerun of a finished run trains nothing again: both phases are skipped.
    capfd.readouterr()
    train(task, cfg, run_dir)
    err = capfd.readouterr().err
    assert "phase 'head' already finished" in err and "phase 'fine_tune' already finished" in err


def test_a_domain_from_another_distribution_is_found_through_its_entry_point(monkeypatch, tmp_path):
    import importlib.metadata
    import sys

    import shared.domain as domain_module

    (tmp_path / "acme_ext.py").write_text(
        "from shared.domain import Domain\n"
        "from tests_shared_toy import ToyTask\n"
        "DOMAIN = Domain(name='acme_risk', title='Acme risk', description='from an entry point', task_classes=[ToyTask], default_task='toy')\n"
    )
    monkeypatch.setitem(sys.modules, "tests_shared_toy", sys.modules[__name__])
    monkeypatch.syspath_prepend(str(tmp_path))
    point = importlib.metadata.EntryPoint(name="acme_risk", value="acme_ext:DOMAIN", group=domain_module.ENTRY_POINT_GROUP)
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None, **kw: [point] if group == domain_module.ENTRY_POINT_GROUP else real(group=group, **kw))
    monkeypatch.setattr(domain_module, "_DOMAINS", None)
    found = discover()
    assert "acme_risk" in found and {"fraud_detection", "medical_imaging"} <= set(found.names())
    assert get_task("acme_risk").name == "toy"
    monkeypatch.setattr(domain_module, "_DOMAINS", None)  # the next test discovers afresh


def test_task_declares_every_capability_the_cli_and_app_call():
    from shared.domain import CAPABILITIES

    for name in CAPABILITIES:
        assert callable(getattr(Task, name)) and getattr(Task, name).__doc__, name
    toy = TOY.task()
    assert toy.supports("evaluate_file") is False and toy.supports("predict") is False
    with pytest.raises(ValueError, match="unknown capability"):
        toy.supports("fly")
    for name, domain in discover().items():
        for _, task in domain.tasks.items():
            # What the CLI's predict/evaluate/explain and the all-tasks test need, on every real task.
            missing = [c for c in ("predict", "evaluate_file", "explain", "write_examples") if not task.supports(c)]
            assert not missing, (name, task.name, missing)
