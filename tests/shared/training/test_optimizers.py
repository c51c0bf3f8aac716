import keras
import pytest

from shared.training.optimizers import OPTIMIZERS, make_optimizer
from shared.training.settings import OptimizerConfig


@pytest.mark.parametrize("name, cls", [("sgd", keras.optimizers.SGD), ("adam", keras.optimizers.Adam), ("adamw", keras.optimizers.AdamW), ("rmsprop", keras.optimizers.RMSprop)])
def test_each_optimizer(name, cls):
    opt = make_optimizer(OptimizerConfig(type=name, learning_rate=0.01, clipnorm=1.0))
    assert isinstance(opt, cls) and opt.clipnorm == 1.0
    assert float(opt.learning_rate) == pytest.approx(0.01)


@pytest.mark.parametrize(
    "schedule, at_zero, at_end",
    [
        ({"type": "constant"}, 0.1, 0.1),
        ({"type": "cosine", "decay_steps": 100}, 0.1, 0.0),
        ({"type": "cosine", "decay_steps": 100, "warmup_steps": 10}, 0.0, 0.0),
        ({"type": "exponential", "decay_steps": 10, "decay_rate": 0.5}, 0.1, 0.1 * 0.5**10),
    ],
)
def test_schedules(schedule, at_zero, at_end):
    opt = make_optimizer(OptimizerConfig(type="sgd", learning_rate=0.1, schedule=schedule))
    lr = opt.learning_rate
    if callable(getattr(opt, "_learning_rate", None)):
        sched = opt._learning_rate
        assert float(sched(0)) == pytest.approx(at_zero, abs=1e-6)
        assert float(sched(110 if schedule.get("warmup_steps") else 100)) == pytest.approx(at_end, abs=1e-6)
    else:
        assert float(lr) == pytest.approx(at_zero)


def test_registry_lists_all():
    assert OPTIMIZERS.names() == ["adam", "adamw", "rmsprop", "sgd"]
