import re
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.training.losses import BceDiceLoss, DiceLoss


def numpy_dice_loss(t, p, smooth=1.0):
    t = t.reshape(len(t), -1).astype(np.float64)
    p = p.reshape(len(p), -1).astype(np.float64)
    return 1.0 - (2 * (t * p).sum(1) + smooth) / (t.sum(1) + p.sum(1) + smooth)


def numpy_bce(t, p, eps=1e-7):
    t = t.reshape(len(t), -1).astype(np.float64)
    p = np.clip(p.reshape(len(p), -1).astype(np.float64), eps, 1 - eps)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(1)


def random_batch(seed, shape=(4, 10, 10, 1)):
    rng = np.random.default_rng(seed)
    truth = (rng.random(shape) < 0.2).astype(np.float32)
    probs = rng.random(shape).astype(np.float32)
    return truth, probs


def blobs(n, size=16, seed=0):
    """Images holding one bright disc of random centre and radius, and its mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = rng.normal(0.0, 0.1, (n, size, size, 1)).astype(np.float32)
    masks = np.zeros((n, size, size, 1), np.float32)
    for i in range(n):
        cy, cx = rng.integers(4, size - 4, size=2)
        r = rng.uniform(2.0, 4.0)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        masks[i, disc, 0] = 1.0
        images[i, disc, 0] += 1.0
    return images, masks


@pytest.mark.parametrize("truth_shape", [(3, 8, 8, 1), (3, 8, 8)])
def test_perfect_prediction_is_zero_and_all_wrong_is_about_one(truth_shape):
    truth = np.ones(truth_shape, np.float32)
    pred = np.ones((3, 8, 8, 1), np.float32)
    assert float(DiceLoss()(truth, pred)) == pytest.approx(0.0, abs=1e-6)
    assert float(DiceLoss()(truth, np.zeros_like(pred))) > 0.98
    assert float(DiceLoss()(1.0 - truth, pred)) > 0.98
    # An empty mask predicted empty is perfect too, thanks to the smooth term.
    assert float(DiceLoss()(np.zeros_like(pred), np.zeros_like(pred))) == pytest.approx(0.0)


@pytest.mark.parametrize("smooth", [1.0, 1e-3])
def test_dice_loss_is_per_image_then_mean(smooth):
    truth, probs = random_batch(1)
    per_image = numpy_dice_loss(truth, probs, smooth)
    got = DiceLoss(smooth=smooth, reduction=None)(truth, probs).numpy()
    np.testing.assert_allclose(got, per_image, rtol=1e-5)
    assert float(DiceLoss(smooth=smooth)(truth, probs)) == pytest.approx(per_image.mean(), rel=1e-5)
    # A Dice pooled over the whole batch is a different number.
    pooled = numpy_dice_loss(truth.reshape(1, -1), probs.reshape(1, -1), smooth)[0]
    assert abs(pooled - per_image.mean()) > 1e-3


@pytest.mark.parametrize(
    "bce_weight, dice_weight", [(1.0, 1.0), (0.3, 2.0), (0.0, 1.0), (1.0, 0.0)]
)
def test_bce_dice_is_the_weighted_sum(bce_weight, dice_weight):
    truth, probs = random_batch(2)
    expected = bce_weight * numpy_bce(truth, probs) + dice_weight * numpy_dice_loss(truth, probs)
    loss = BceDiceLoss(bce_weight=bce_weight, dice_weight=dice_weight)
    assert float(loss(truth, probs)) == pytest.approx(expected.mean(), rel=1e-4)
    if dice_weight == 0.0:
        bce = keras.losses.BinaryCrossentropy()(truth.reshape(4, -1), probs.reshape(4, -1))
        assert float(loss(truth, probs)) == pytest.approx(float(bce), rel=1e-5)


@pytest.mark.parametrize("loss_class", [DiceLoss, BceDiceLoss])
def test_from_logits_matches_sigmoid_first(loss_class):
    rng = np.random.default_rng(3)
    truth = (rng.random((2, 6, 6, 1)) < 0.4).astype(np.float32)
    logits = rng.normal(0, 3, truth.shape).astype(np.float32)
    probs = 1 / (1 + np.exp(-logits))
    on_logits = float(loss_class(from_logits=True)(truth, logits))
    assert on_logits == pytest.approx(float(loss_class()(truth, probs)), rel=1e-4)


@pytest.mark.parametrize("loss", [DiceLoss(), BceDiceLoss(), BceDiceLoss(from_logits=True)])
@pytest.mark.parametrize("case", ["random", "saturated", "empty"])
def test_gradient_is_finite(loss, case):
    truth, probs = random_batch(4)
    if case == "saturated":  # predictions exactly 0 and 1, wrong half the time
        probs = (probs > 0.5).astype(np.float32)
    if case == "empty":
        truth, probs = np.zeros_like(truth), np.zeros_like(probs)
    pred = tf.Variable(probs)
    with tf.GradientTape() as tape:
        value = loss(truth, pred)
    grad = tape.gradient(value, pred).numpy()
    assert np.isfinite(float(value)) and np.isfinite(grad).all()
    if case == "random":
        assert np.abs(grad).max() > 0


def test_float16_inputs_are_reduced_in_float32():
    # 256 x 256 ones sum to 65536, above float16's maximum of 65504.
    truth = np.ones((2, 256, 256, 1), np.float16)
    pred = tf.constant(np.full((2, 256, 256, 1), 0.5, np.float16))
    value = DiceLoss(dtype="float16")(truth, pred)
    expected = numpy_dice_loss(truth.astype(np.float32), np.full(truth.shape, 0.5))
    assert np.isfinite(float(value))
    assert float(value) == pytest.approx(expected.mean(), abs=1e-3)
    assert BceDiceLoss()(truth, pred).dtype == "float32"


def test_trains_under_mixed_precision():
    images, masks = blobs(16, seed=5)
    keras.utils.set_random_seed(5)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential([
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", dtype="float32"),
        ])
        model.compile(optimizer="adam", loss=BceDiceLoss())
        history = model.fit(images, masks, epochs=2, batch_size=8, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize(
    "loss",
    [DiceLoss(smooth=0.5, from_logits=True, name="dice"),
     BceDiceLoss(bce_weight=0.25, dice_weight=2.0, smooth=2.0, reduction="sum")],
)
def test_config_round_trips(loss):
    config = loss.get_config()
    assert type(loss).from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"] == f"dlsuite>{type(loss).__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(loss) and restored.get_config() == config
    truth, probs = random_batch(6)
    assert float(restored(truth, probs)) == pytest.approx(float(loss(truth, probs)))


def test_compiled_model_saves_and_reloads(tmp_path):
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 1, activation="sigmoid")]
    )
    model.compile(optimizer="adam", loss=BceDiceLoss(bce_weight=0.5))
    model.train_on_batch(np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8, 1)))  # builds the optimizer
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.loss, BceDiceLoss) and reloaded.loss.bce_weight == 0.5


@pytest.mark.parametrize("loss_class", [DiceLoss, BceDiceLoss])
def test_a_small_conv_net_learns_blobs(loss_class):
    images, masks = blobs(64, seed=1)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((16, 16, 1)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ])
    loss = loss_class()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss)
    before = float(loss(masks, model.predict(images, verbose=0)))
    model.fit(images, masks, epochs=15, batch_size=16, verbose=0)
    after = float(loss(masks, model.predict(images, verbose=0)))
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"smooth": 0.0}, "Received: smooth=0.0"),
        ({"smooth": float("nan")}, "Received: smooth=nan"),
        ({"bce_weight": -1.0}, "Received: bce_weight=-1.0"),
        ({"dice_weight": "x"}, "Received: dice_weight='x'"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BceDiceLoss(**kwargs)


@pytest.mark.parametrize("loss_class", [DiceLoss, BceDiceLoss])
def test_docstring_example_runs(loss_class):
    examples = re.findall(r"```python\n(.*?)```", loss_class.__doc__, re.DOTALL)
    assert examples
    for example in examples:
        exec(textwrap.dedent(example), {})
