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


def _toy_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.BatchNormalization(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_distributed_loop_matches_fit_on_one_device():
    """The loop multi-worker runs use gives what fit gives, on the same data and seed."""
    s = tf.distribute.get_strategy()
    by_fit = Trainer(s, epochs=3, verbose=0).fit(_toy_model(), toy_data(), toy_data())
    by_loop = Trainer(s, epochs=3, verbose=0, loop="distributed").fit(_toy_model(), toy_data(), toy_data())
    assert set(by_loop) == set(by_fit) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in by_fit:
        np.testing.assert_allclose(by_loop[key], by_fit[key], rtol=1e-4, atol=1e-5)


def test_distributed_loop_honours_callbacks_and_resume(tmp_path):
    s = tf.distribute.get_strategy()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # stops after its first check
    history = Trainer(s, callbacks=[stop], epochs=10, verbose=0, loop="distributed").fit(_toy_model(), toy_data())
    assert len(history["loss"]) == 2

    backup = str(tmp_path / "backup")
    Trainer(s, callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)], epochs=2, verbose=0, loop="distributed").fit(_toy_model(), toy_data())
    resumed = Trainer(s, callbacks=[keras.callbacks.BackupAndRestore(backup)], epochs=4, verbose=0, loop="distributed").fit(_toy_model(), toy_data())
    assert len(resumed["loss"]) == 2  # epochs 3 and 4 only


def test_distributed_loop_applies_class_weights():
    from shared.training.engine import with_class_weight

    x, y, w = next(iter(with_class_weight(toy_data(), {0: 1.0, 1: 5.0})))
    np.testing.assert_allclose(w.numpy(), np.where(y.numpy() == 1, 5.0, 1.0))
    s = tf.distribute.get_strategy()
    plain = Trainer(s, epochs=1, verbose=0, loop="distributed").fit(_toy_model(), toy_data())
    weighted = Trainer(s, epochs=1, verbose=0, loop="distributed").fit(_toy_model(), toy_data(), class_weight={0: 1.0, 1: 5.0})
    assert weighted["loss"][0] > plain["loss"][0]


def test_corrupt_training_data_is_a_data_error(tmp_path):
    from shared.errors import DataError

    path = tmp_path / "part.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _ in range(50):
            writer.write(b"x" * 100)
    raw = bytearray(path.read_bytes())
    raw[500:520] = b"\xff" * 20
    path.write_bytes(bytes(raw))
    ds = tf.data.TFRecordDataset(str(path)).map(lambda r: (tf.ones([4]), tf.constant(1.0))).batch(8)
    with pytest.raises(DataError, match="training data is corrupt"):
        Trainer(tf.distribute.get_strategy(), epochs=1, verbose=0).fit(_toy_model(), ds)
