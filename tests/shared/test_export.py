import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.export import export


def augmented_model():
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomContrast(0.5)])(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))


def test_savedmodel_serves_in_inference_mode(tmp_path):
    """Augmentation layers must not run when the export serves a request."""
    model = augmented_model()
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    export(model, "savedmodel", tmp_path / "sm")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    np.testing.assert_allclose(np.asarray(loaded.serve(tf.constant(x))), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_dict_inputs_export(tmp_path):
    inputs = {"a": keras.Input((), name="a"), "b": keras.Input((), name="b")}
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([keras.layers.Reshape((1,))(inputs["a"]), keras.layers.Reshape((1,))(inputs["b"])]))
    model = keras.Model(inputs, out)
    x = {"a": np.array([1.0, 2.0], "float32"), "b": np.array([3.0, 4.0], "float32")}
    export(model, "savedmodel", tmp_path / "sm")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    got = loaded.serve({k: tf.constant(v) for k, v in x.items()})
    np.testing.assert_allclose(np.asarray(got), model.predict(x, verbose=0), rtol=1e-6)


def test_keras_and_tflite_exports(tmp_path):
    model = augmented_model()
    assert export(model, "keras", tmp_path / "m").suffix == ".keras"
    assert export(model, "tflite", tmp_path / "m.tflite").stat().st_size > 0
    with pytest.raises(Exception, match="unknown export format 'onnx'"):
        export(model, "onnx", tmp_path / "m.onnx")
