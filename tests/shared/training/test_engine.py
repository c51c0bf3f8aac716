import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.training.engine import Trainer
from shared.training.losses import ScoreAsLoss
from shared.training.runner import read_history


def toy_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32)


def test_fit_learns_and_returns_history():
    keras.utils.set_random_seed(0)
    s = tf.distribute.get_strategy()
    with s.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = Trainer(s, epochs=5, verbose=0).fit(model, toy_data(), toy_data())
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9


def test_uncompiled_model_is_refused():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="needs a compiled model"):
        Trainer(tf.distribute.get_strategy()).fit(model, toy_data())


def test_custom_train_step_needs_no_engine_change():
    """A model with its own loss (here: its output) trains through the same engine."""

    keras.utils.set_random_seed(0)
    x_in = keras.Input((4,))
    diff = keras.layers.Subtract()([keras.layers.Dense(4)(x_in), x_in])
    model = keras.Model(x_in, keras.layers.Dot(axes=1)([diff, diff]))  # squared reconstruction error
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=ScoreAsLoss())
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, np.zeros(64, "float32"))).batch(16)
    history = Trainer(tf.distribute.get_strategy(), epochs=3, verbose=0).fit(model, data)
    assert history["loss"][-1] < history["loss"][0]


def test_read_history_keeps_last_copy_of_each_epoch(tmp_path):
    log = tmp_path / "history.csv"
    log.write_text("epoch,loss\n0,1.0\n1,0.9\n1,0.8\n2,0.7\n")
    assert read_history(log) == {"loss": [1.0, 0.8, 0.7]}
    assert read_history(tmp_path / "none.csv") == {}


def test_phases_validate_their_arguments():
    from shared.training.phases import Phase

    with pytest.raises(ValueError, match="Received: epochs=-1"):
        Phase("p", -1)
    with pytest.raises(ValueError, match="Received: learning_rate_scale=0"):
        Phase("p", 1, learning_rate_scale=0)
