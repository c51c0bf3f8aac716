import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.layers import TabularEncoder

ROWS = {
    "age": np.array([20.0, 30.0, 40.0, 50.0, 60.0, 70.0], "float32"),
    "income": np.array([1.0, 2.0, 2.0, 3.0, 5.0, 8.0], "float32"),
    "city": np.array(["paris", "rome", "paris", "oslo", "paris", "rome"]),
    "plan": np.array(["free", "pro", "pro", "free", "free", "free"]),
}
NUMERIC = ["age", "income"]
CATEGORICAL = ["city", "plan"]


def dataset(rows=ROWS, batch_size=4):
    return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)


def adapted(**kwargs):
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3, **kwargs)
    encoder.adapt(dataset())
    return encoder


def test_output_layout_and_feature_slices():
    encoder = adapted()
    outputs = encoder(ROWS)
    assert outputs.shape == (6, 2 + 2 * 3)
    assert encoder.compute_output_shape({name: (6,) for name in ROWS}) == (6, 8)
    assert encoder.feature_slices() == {
        "age": (0, 1),
        "income": (1, 2),
        "city": (2, 5),
        "plan": (5, 8),
    }
    # Each categorical slice holds exactly that feature's embedding.
    start, end = encoder.feature_slices()["plan"]
    plan_ids = encoder.lookups[1](ROWS["plan"])
    np.testing.assert_allclose(outputs[:, start:end], encoder.embeddings[1](plan_ids))


def test_adapt_standardizes_numeric_features():
    numeric = np.asarray(adapted()(ROWS))[:, :2]
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(numeric.std(axis=0), 1.0, atol=1e-3)


def test_adapt_learns_vocabularies_into_the_config():
    config = adapted().get_config()
    assert sorted(config["vocabularies"]["city"]) == ["oslo", "paris", "rome"]
    assert sorted(config["vocabularies"]["plan"]) == ["free", "pro"]
    assert all(type(token) is str for token in config["vocabularies"]["city"])
    rebuilt = TabularEncoder.from_config(config)
    assert rebuilt.get_config() == config


def test_given_vocabularies_are_kept():
    encoder = adapted(vocabularies={"plan": ["pro", "free", "trial"]})
    assert encoder.get_config()["vocabularies"]["plan"] == ["pro", "free", "trial"]
    assert encoder.lookups[1].vocabulary_size() == 4  # 3 tokens + 1 OOV bucket


def test_vocabularies_make_adapt_optional_for_categoricals():
    encoder = TabularEncoder([], ["plan"], embedding_dim=2, vocabularies={"plan": ["free", "pro"]})
    assert encoder({"plan": ROWS["plan"]}).shape == (6, 2)


def test_numeric_only_encoder_passes_raw_values_before_adapt():
    encoder = TabularEncoder(["age"], [])
    np.testing.assert_allclose(encoder({"age": ROWS["age"]})[:, 0], ROWS["age"])


def test_unknown_categories_share_the_oov_embedding():
    encoder = adapted()
    rows = dict(ROWS, city=np.array(["berlin", "lima", "paris", "oslo", "rome", "rome"]))
    outputs = np.asarray(encoder(rows))
    start, end = encoder.feature_slices()["city"]
    np.testing.assert_allclose(outputs[0, start:end], outputs[1, start:end])
    assert not np.allclose(outputs[0, start:end], outputs[2, start:end])


@pytest.mark.parametrize("num_oov_indices, vocabulary_size", [(0, 2), (3, 5)])
def test_num_oov_indices(num_oov_indices, vocabulary_size):
    encoder = adapted(num_oov_indices=num_oov_indices)
    encoder(ROWS)
    assert encoder.embeddings[1].input_dim == vocabulary_size


def test_accepts_columns_with_a_trailing_axis():
    encoder = adapted()
    columns = {name: column[:, None] for name, column in ROWS.items()}
    np.testing.assert_allclose(encoder(columns), encoder(ROWS))


def test_adapt_accepts_feature_label_tuples():
    labels = np.arange(6)
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3)
    encoder.adapt(tf.data.Dataset.from_tensor_slices((ROWS, labels)).batch(4))
    numeric = np.asarray(encoder(ROWS))[:, :2]
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-5)


def test_works_in_a_functional_model_with_dict_inputs():
    encoder = adapted()
    inputs = {
        name: keras.Input((1,), dtype="string" if name in CATEGORICAL else "float32", name=name)
        for name in ROWS
    }
    outputs = keras.layers.Dense(1)(encoder(inputs))
    model = keras.Model(inputs, outputs)
    assert model({name: tf.constant(column[:, None]) for name, column in ROWS.items()}).shape == (6, 1)


def test_large_values_do_not_overflow_under_mixed_precision(mixed_precision):
    rows = dict(ROWS, income=np.array([1e5, 2e5, 3e5, 5e5, 9e5, 1e6], "float32"))
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3)
    encoder.adapt(dataset(rows))
    outputs = encoder(rows)
    assert outputs.dtype == "float16"
    assert np.all(np.isfinite(np.asarray(outputs, "float32")))


def test_using_the_layer_before_adapt_is_an_error():
    encoder = TabularEncoder(NUMERIC, CATEGORICAL)
    with pytest.raises(ValueError, match=r"No vocabulary for categorical features \['city', 'plan'\]"):
        encoder(ROWS)


def test_missing_input_features_are_an_error():
    encoder = adapted()
    with pytest.raises(ValueError, match=r"lack features \['plan'\]"):
        encoder({name: ROWS[name] for name in ["age", "income", "city"]})


def test_dataset_missing_features_is_an_error():
    encoder = TabularEncoder(NUMERIC, CATEGORICAL)
    with pytest.raises(ValueError, match=r"dataset lacks features \['income'\]"):
        encoder.adapt(dataset({name: ROWS[name] for name in ["age", "city", "plan"]}))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"numeric_features": [], "categorical_features": []}, "at least one feature"),
        ({"numeric_features": ["a"], "categorical_features": ["a"]}, r"repeated features \['a'\]"),
        ({"numeric_features": "age", "categorical_features": []}, "Received: numeric_features='age'"),
        ({"numeric_features": ["a"], "categorical_features": [], "embedding_dim": 0}, "Received: embedding_dim=0"),
        ({"numeric_features": ["a"], "categorical_features": [], "num_oov_indices": -1}, "Received: num_oov_indices=-1"),
        ({"numeric_features": [], "categorical_features": ["c"], "vocabularies": {"d": ["x"]}}, r"entries for \['d'\]"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularEncoder(**kwargs)


def grouped(rows=ROWS):
    """ROWS as the two inputs of an encoder with `grouped_inputs=True`."""
    return {
        "numeric": np.stack([rows[name] for name in NUMERIC], axis=1),
        "categorical": np.stack([rows[name] for name in CATEGORICAL], axis=1),
    }


def test_grouped_inputs_encode_like_one_input_per_feature():
    per_feature = adapted()
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3, grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(grouped()).batch(4))
    assert encoder.get_config()["vocabularies"] == per_feature.get_config()["vocabularies"]
    encoder(grouped())
    per_feature(ROWS)
    for mine, theirs in zip(encoder.embeddings, per_feature.embeddings):
        mine.set_weights(theirs.get_weights())
    np.testing.assert_allclose(encoder(grouped()), per_feature(ROWS), atol=1e-6)
    assert encoder.feature_slices() == per_feature.feature_slices()


@pytest.mark.parametrize("numeric, categorical", [(NUMERIC, []), ([], CATEGORICAL)])
def test_grouped_inputs_of_one_type_only(numeric, categorical):
    inputs = {k: v for k, v in grouped().items() if (k == "numeric" and numeric) or (k == "categorical" and categorical)}
    encoder = TabularEncoder(numeric, categorical, embedding_dim=2, grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(inputs).batch(4))
    assert encoder(inputs).shape == (6, len(numeric) + 2 * len(categorical))


def test_grouped_model_saves_and_reloads_in_safe_mode(tmp_path):
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3, grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(grouped()).batch(4))
    inputs = {
        "numeric": keras.Input((2,), dtype="float32", name="numeric"),
        "categorical": keras.Input((2,), dtype="string", name="categorical"),
    }
    model = keras.Model(inputs, keras.layers.Dense(1)(encoder(inputs)))
    rows = dict(ROWS, city=np.array(["berlin", "rome", "paris", "oslo", "paris", "rome"]))
    batch = {k: tf.constant(v) for k, v in grouped(rows).items()}
    path = tmp_path / "grouped.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), model.predict(batch, verbose=0), rtol=1e-6)
    assert reloaded.get_layer(encoder.name).get_config()["grouped_inputs"] is True


def test_grouped_inputs_under_mixed_precision(mixed_precision):
    rows = dict(ROWS, income=np.array([1e5, 2e5, 3e5, 5e5, 9e5, 1e6], "float32"))
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3, grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(grouped(rows)).batch(4))
    outputs = encoder(grouped(rows))
    assert outputs.dtype == "float16"
    assert np.all(np.isfinite(np.asarray(outputs, "float32")))


def test_a_thousand_numeric_columns_build_as_one_input():
    names = [f"x{i}" for i in range(1000)]
    values = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 1000)).astype("float32")
    encoder = TabularEncoder(names, [], grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices({"numeric": values}).batch(32))
    inputs = {"numeric": keras.Input((1000,), name="numeric")}
    model = keras.Model(inputs, encoder(inputs))
    assert len(model.inputs) == 1 and model.output.shape == (None, 1000)
    np.testing.assert_allclose(np.asarray(model({"numeric": values})).mean(axis=0), 0.0, atol=1e-4)


def test_grouped_inputs_of_the_wrong_width_or_missing_are_an_error():
    encoder = TabularEncoder(NUMERIC, CATEGORICAL, embedding_dim=3, grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(grouped()).batch(4))
    with pytest.raises(ValueError, match=r"Input 'numeric' must have 2 columns, one per feature. Received: shape \(6, 3\)"):
        encoder(dict(grouped(), numeric=np.zeros((6, 3), "float32")))
    with pytest.raises(ValueError, match=r"lack features \['categorical'\]"):
        TabularEncoder(NUMERIC, CATEGORICAL, grouped_inputs=True)({"numeric": grouped()["numeric"]})
    with pytest.raises(ValueError, match=r"dataset lacks features \['categorical'\]"):
        TabularEncoder(NUMERIC, CATEGORICAL, grouped_inputs=True).adapt(
            tf.data.Dataset.from_tensor_slices({"numeric": grouped()["numeric"]}).batch(4)
        )
