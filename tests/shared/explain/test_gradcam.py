import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers, ops

from shared.explain import feature_layer_path, grad_cam, overlay

SIZE, SIDE = 24, 6


def squares(n, seed):
    """Noise images; odd rows get a bright square somewhere in the top-left quadrant."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.2, 0.08, (n, SIZE, SIZE, 1)).astype(np.float32)
    y = np.arange(n) % 2
    corners = np.zeros((n, 2), int)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, SIZE // 2 - SIDE + 1, size=2)
        corners[i] = r, c
        x[i, r : r + SIDE, c : c + SIDE, 0] += 0.7
    return np.clip(x, 0.0, 1.0), y, corners


def conv_classifier(seed=0, outputs=2, activation="softmax"):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 1))
    h = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    h = layers.MaxPooling2D(name="pool")(h)
    h = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(h)
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    return keras.Model(inputs, layers.Dense(outputs, activation=activation, name="classes")(h))


@pytest.fixture(scope="module")
def trained():
    model = conv_classifier()
    x, y, _ = squares(256, seed=0)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def test_images():
    return squares(16, seed=1)


def head_after_conv2(model):
    gap, dense = model.get_layer("gap"), model.get_layer("classes")
    return lambda features: dense(gap(features))


def test_heatmaps_fall_on_the_square(trained, test_images):
    x, y, corners = test_images
    _, accuracy = trained.evaluate(x, y, verbose=0)
    assert accuracy > 0.9  # the model must have learnt the square before we ask where it looks
    positives = np.flatnonzero(y)
    heatmaps = grad_cam(trained, x[positives])
    assert heatmaps.shape == (positives.size, SIZE, SIZE) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0.0 and np.allclose(heatmaps.max(axis=(1, 2)), 1.0)
    for heatmap, (r, c) in zip(heatmaps, corners[positives]):
        # The square plus a 2-pixel margin for the bilinear upsampling: 17-21% of the image.
        region = np.zeros((SIZE, SIZE), bool)
        region[max(r - 2, 0) : r + SIDE + 2, max(c - 2, 0) : c + SIDE + 2] = True
        assert heatmap[region].sum() / heatmap.sum() > 0.5


def test_default_layer_is_the_last_four_d_output(trained):
    assert feature_layer_path(trained) == ["conv2"]
    assert feature_layer_path(trained, "conv1") == ["conv1"]


def test_explicit_layer_name(trained, test_images):
    x = test_images[0][:4]
    early = grad_cam(trained, x, layer_name="conv1")
    assert early.shape == (4, SIZE, SIZE) and 0.0 <= early.min() and early.max() <= 1.0
    assert not np.allclose(early, grad_cam(trained, x))
    np.testing.assert_allclose(grad_cam(trained, x, layer_name="conv2"), grad_cam(trained, x))


def test_feature_and_head_functions_match_the_automatic_path(trained, test_images):
    x = test_images[0]
    features = keras.Model(trained.input, trained.get_layer("conv2").output)
    manual = grad_cam(None, x, feature_fn=features, head_fn=head_after_conv2(trained))
    np.testing.assert_allclose(manual, grad_cam(trained, x), atol=1e-5)


def test_linear_head_gives_class_activation_map():
    # With GAP + linear Dense, Grad-CAM's channel weights are W[:, c] / (h * w): the CAM of
    # Zhou et al. 2016, computed here by hand from the features and the kernel.
    model = conv_classifier(seed=3, outputs=3, activation=None)
    x = np.random.default_rng(3).random((5, SIZE, SIZE, 1)).astype(np.float32)
    features = keras.Model(model.input, model.get_layer("conv2").output)(x).numpy()
    kernel = model.get_layer("classes").get_weights()[0]
    classes = np.array([0, 1, 2, 1, 0])
    cam = np.einsum("bhwk,kb->bhw", features, kernel[:, classes])
    cam = np.maximum(tf.image.resize(cam[..., None], (SIZE, SIZE)).numpy()[..., 0], 0.0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    expected = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    assert (peak > 0).sum() >= 3  # mostly non-trivial maps
    np.testing.assert_allclose(grad_cam(model, x, class_index=classes), expected, atol=1e-5)


def test_class_index_options(trained, test_images):
    x = test_images[0][:6]
    top = trained.predict(x, verbose=0).argmax(axis=1)
    np.testing.assert_allclose(grad_cam(trained, x), grad_cam(trained, x, class_index=top))
    one = grad_cam(trained, x, class_index=1)
    np.testing.assert_allclose(one, grad_cam(trained, x, class_index=np.ones(6, int)))
    assert not np.allclose(grad_cam(trained, x, class_index=0), one)


def test_batching_does_not_change_the_result(trained, test_images):
    x = test_images[0][:7]
    np.testing.assert_allclose(grad_cam(trained, x, batch_size=3), grad_cam(trained, x),
                               atol=1e-6)


def test_sequential_and_sigmoid_output():
    keras.utils.set_random_seed(4)
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 1)),
        layers.Conv2D(4, 3, activation="relu", name="seq_conv"),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1, activation="sigmoid"),
    ])
    x = np.random.default_rng(4).random((3, SIZE, SIZE, 1)).astype(np.float32)
    assert feature_layer_path(model) == ["seq_conv"]
    heatmaps = grad_cam(model, x)
    assert heatmaps.shape == (3, SIZE, SIZE) and heatmaps.max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="must lie in \\[0, 0\\]"):
        grad_cam(model, x, class_index=1)


def nested_backbone(pooled, trainable=True):
    inputs = keras.Input((SIZE, SIZE, 1))
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="inner_conv1")(inputs)
    h = layers.Conv2D(6, 3, padding="same", name="inner_conv2")(h)
    if pooled:
        h = layers.GlobalAveragePooling2D(name="inner_gap")(h)
    backbone = keras.Model(inputs, h, name="backbone")
    backbone.trainable = trainable
    return backbone


def test_searches_inside_a_nested_backbone_that_ends_in_pooling():
    keras.utils.set_random_seed(5)
    backbone = nested_backbone(pooled=True, trainable=False)  # frozen, as in fine-tuning
    inputs = keras.Input((SIZE, SIZE, 1))
    scaled = layers.Rescaling(2.0, name="scale")(inputs)
    head = layers.Dense(3, name="head")
    model = keras.Model(inputs, head(backbone(scaled)))
    assert feature_layer_path(model) == ["backbone", "inner_conv2"]
    x = np.random.default_rng(5).random((4, SIZE, SIZE, 1)).astype(np.float32)
    features = keras.Model(backbone.input, backbone.get_layer("inner_conv2").output)
    gap = backbone.get_layer("inner_gap")
    manual = grad_cam(None, x, feature_fn=lambda t: features(2.0 * t),
                      head_fn=lambda f: head(gap(f)))
    np.testing.assert_allclose(grad_cam(model, x), manual, atol=1e-5)
    assert feature_layer_path(model, "inner_conv1") == ["backbone", "inner_conv1"]
    assert grad_cam(model, x, layer_name="inner_conv1").shape == (4, SIZE, SIZE)
    # The same backbone in a second model: each model uses its own call of it.
    other = keras.Model(inputs, layers.Dense(2)(backbone(inputs)))
    assert grad_cam(other, x).shape == (4, SIZE, SIZE)


def test_nested_backbone_with_spatial_output_is_the_target():
    backbone = nested_backbone(pooled=False)
    inputs = keras.Input((SIZE, SIZE, 1))
    gap, head = layers.GlobalAveragePooling2D(), layers.Dense(2)
    model = keras.Model(inputs, head(gap(backbone(inputs))))
    assert feature_layer_path(model) == ["backbone"]
    x = np.random.default_rng(6).random((3, SIZE, SIZE, 1)).astype(np.float32)
    manual = grad_cam(None, x, feature_fn=backbone, head_fn=lambda f: head(gap(f)))
    np.testing.assert_allclose(grad_cam(model, x), manual, atol=1e-5)


def test_two_levels_of_nesting():
    keras.utils.set_random_seed(11)
    backbone = nested_backbone(pooled=True)
    inputs = keras.Input((SIZE, SIZE, 1))
    dense = layers.Dense(2)
    classifier = keras.Model(inputs, dense(backbone(inputs)), name="classifier")
    outer_inputs = keras.Input((SIZE, SIZE, 1))
    softmax = layers.Softmax()
    wrapper = keras.Model(outer_inputs, softmax(classifier(outer_inputs)))
    assert feature_layer_path(wrapper) == ["classifier", "backbone", "inner_conv2"]
    x = np.random.default_rng(11).random((3, SIZE, SIZE, 1)).astype(np.float32)
    features = keras.Model(backbone.input, backbone.get_layer("inner_conv2").output)
    gap = backbone.get_layer("inner_gap")
    manual = grad_cam(None, x, feature_fn=features, head_fn=lambda f: softmax(dense(gap(f))))
    np.testing.assert_allclose(grad_cam(wrapper, x), manual, atol=1e-5)


def test_graphs_that_cannot_be_split_raise():
    x = np.zeros((2, SIZE, SIZE, 1), np.float32)
    inputs = keras.Input((SIZE, SIZE, 1))
    # A layer called twice has no single feature map.
    shared = layers.Conv2D(1, 3, padding="same", name="shared_conv")
    twice = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(shared(shared(inputs)))))
    with pytest.raises(ValueError, match="'shared_conv' is called 2 times"):
        grad_cam(twice, x, layer_name="shared_conv")
    with pytest.raises(ValueError, match="called more than once are skipped"):
        grad_cam(twice, x)
    # A skip connection around a nested backbone.
    backbone = nested_backbone(pooled=False)
    merged = layers.Concatenate()([backbone(inputs), inputs])
    skip = keras.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling2D()(merged)))
    with pytest.raises(ValueError, match="skip connection"):
        grad_cam(skip, x, layer_name="inner_conv2")
    # A nested model taking two tensors.
    a, b = keras.Input((SIZE, SIZE, 1)), keras.Input((SIZE, SIZE, 1))
    pair = keras.Model([a, b], layers.GlobalAveragePooling2D()(
        layers.Conv2D(2, 3, name="pair_conv")(layers.Add()([a, b]))), name="pair")
    two_in = keras.Model(inputs, layers.Dense(2)(pair([inputs, inputs])))
    with pytest.raises(ValueError, match="'pair' must take and return one tensor"):
        grad_cam(two_in, x)
    # Two outputs.
    conv = layers.Conv2D(2, 3)(inputs)
    two_out = keras.Model(inputs, [layers.Flatten()(conv), layers.GlobalAveragePooling2D()(conv)])
    with pytest.raises(ValueError, match="1 inputs, 2 outputs"):
        grad_cam(two_out, x)


class SpatialBlock(layers.Layer):
    """A custom layer hiding its convolutions: only its 4-D output is visible."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = layers.Conv2D(4, 3, padding="same", activation="relu")
        self.second = layers.Conv2D(4, 3, padding="same")

    def call(self, x):
        return self.second(self.first(x))


def test_custom_layer_with_spatial_output():
    keras.utils.set_random_seed(7)
    inputs = keras.Input((SIZE, SIZE, 1))
    h = SpatialBlock(name="block")(inputs)
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(h)))
    assert feature_layer_path(model) == ["block"]
    x = np.random.default_rng(7).random((2, SIZE, SIZE, 1)).astype(np.float32)
    assert grad_cam(model, x).shape == (2, SIZE, SIZE)


class Extractor(tf.Module):
    """Spatial features from plain TensorFlow, exported as a SavedModel."""

    def __init__(self):
        self.kernel = tf.Variable(tf.random.stateless_normal((3, 3, 1, 4), seed=(1, 2)))

    # autograph=False: plain TF ops need no conversion, and AutoGraph re-reads source files.
    @tf.function(input_signature=[tf.TensorSpec((None, SIZE, SIZE, 1), tf.float32)],
                 autograph=False)
    def __call__(self, x):
        return tf.nn.relu(tf.nn.conv2d(x, self.kernel, 1, "SAME"))


class SavedModelFeatures(layers.Layer):
    """Wraps a loaded SavedModel: an opaque layer returning a 4-D map."""

    def __init__(self, loaded, **kwargs):
        super().__init__(**kwargs)
        self.loaded = loaded

    def call(self, x):
        return self.loaded(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], SIZE, SIZE, 4)


def test_opaque_saved_model_features(tmp_path):
    tf.saved_model.save(Extractor(), str(tmp_path / "extractor"))
    loaded = tf.saved_model.load(str(tmp_path / "extractor"))
    keras.utils.set_random_seed(8)
    gap, head = layers.GlobalAveragePooling2D(), layers.Dense(3)
    inputs = keras.Input((SIZE, SIZE, 1))
    model = keras.Model(inputs, head(gap(SavedModelFeatures(loaded, name="saved")(inputs))))
    x = np.random.default_rng(8).random((4, SIZE, SIZE, 1)).astype(np.float32)
    from_functions = grad_cam(None, x, feature_fn=loaded, head_fn=lambda f: head(gap(f)))
    assert from_functions.shape == (4, SIZE, SIZE) and from_functions.max() == pytest.approx(1.0)
    assert feature_layer_path(model) == ["saved"]
    np.testing.assert_allclose(grad_cam(model, x), from_functions, atol=1e-5)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, activation="relu")
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(ops.mean(self.conv(x), axis=(1, 2)))


def test_subclassed_model_needs_feature_and_head_functions():
    model = Subclassed()
    x = np.random.default_rng(9).random((2, SIZE, SIZE, 1)).astype(np.float32)
    model(x)
    with pytest.raises(ValueError, match="pass `feature_fn` and `head_fn`"):
        grad_cam(model, x)
    heatmaps = grad_cam(None, x, feature_fn=model.conv,
                        head_fn=lambda f: model.dense(ops.mean(f, axis=(1, 2))))
    assert heatmaps.shape == (2, SIZE, SIZE)


def test_bad_arguments_raise(trained):
    x = np.zeros((2, SIZE, SIZE, 1), np.float32)
    dense_only = keras.Sequential([keras.Input((SIZE, SIZE, 1)), layers.Flatten(), layers.Dense(2)])
    features = keras.Model(trained.input, trained.get_layer("conv2").output)
    cases = [
        (lambda: grad_cam(trained, x, layer_name="nope"), "No layer named 'nope'.*'conv2'"),
        (lambda: grad_cam(dense_only, x), "outputs a 4-D"),
        (lambda: grad_cam(trained, x[..., 0]), "Received: images.shape=\\(2, 24, 24\\)"),
        (lambda: grad_cam(trained, x, class_index=2), "must lie in \\[0, 1\\]"),
        (lambda: grad_cam(trained, x, class_index=[0, 1, 1]), "2 ints \\(one per image\\)"),
        (lambda: grad_cam(trained, x, batch_size=0), "Received: batch_size=0"),
        (lambda: grad_cam(None, x, feature_fn=features), "both `feature_fn` and `head_fn`"),
        (lambda: grad_cam(trained, x, feature_fn=features, head_fn=lambda f: f), "model=None"),
        (lambda: grad_cam(None, x, feature_fn=lambda t: tf.reduce_mean(t, axis=(1, 2)),
                          head_fn=lambda f: f), "must be 4-D"),
        (lambda: grad_cam(None, x, feature_fn=features,
                          head_fn=lambda f: tf.ones((2, 2))), "no gradient"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("shape", [(8, 10), (8, 10, 1), (8, 10, 3)])
def test_overlay_shapes_and_range(shape):
    rng = np.random.default_rng(10)
    image, heatmap = rng.random(shape), rng.random((8, 10))
    blended = overlay(image, heatmap)
    assert blended.shape == (8, 10, 3) and blended.dtype == np.float32
    assert 0.0 <= blended.min() and blended.max() <= 1.0
    grey_or_rgb = np.broadcast_to(image.reshape(8, 10, -1), (8, 10, 3))
    np.testing.assert_allclose(overlay(image, heatmap, alpha=0.0), grey_or_rgb, atol=1e-6)
    # Full alpha shows only the colormap: hot (red) where the heatmap is 1, blue where 0.
    hot = overlay(image, np.ones((8, 10)), alpha=1.0)
    cold = overlay(image, np.zeros((8, 10)), alpha=1.0)
    assert hot[..., 0].min() > 0.4 and cold[..., 2].min() > 0.4
    assert hot[..., 2].max() < 0.1 and cold[..., 0].max() < 0.1


def test_overlay_bad_arguments():
    with pytest.raises(ValueError, match="heatmap.shape=\\(4, 4\\)"):
        overlay(np.zeros((8, 8)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="`image` must hold values in \\[0, 1\\]"):
        overlay(np.full((4, 4), 255.0), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="Received: alpha=2"):
        overlay(np.zeros((4, 4)), np.zeros((4, 4)), alpha=2)
