"""BagOfWordsEmbedding and its tokenizer: core TensorFlow string ops, sqrt-n combiner, SavedModel export."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from shared.hub.bag_of_words import BagOfWordsEmbedding, split_words
from shared.hub.saved_model import write_reusable


def words(*sentences):
    return [[w.decode() for w in row] for row in split_words(tf.constant(list(sentences))).to_list()]


def test_split_words_lowercases_and_splits_on_everything_but_letters_marks_and_digits():
    assert words("A SUPERB, moving film!!") == [["a", "superb", "moving", "film"]]
    assert words("I didn't like the director's cut", "isn’t") == [["i", "did", "not", "like", "the", "director", "cut"], ["is", "not"]]
    assert words("well-made 10/10") == [["well", "made", "10", "10"]]
    assert words("CAFÉ naïve Straße İstanbul 日本語") == [["café", "naïve", "straße", "i̇stanbul", "日本語"]]
    assert words("", "  ...  ") == [[], []]
    assert words(b"\xff\xfebad bytes") == [["bad", "bytes"]]  # invalid UTF-8 becomes U+FFFD, a separator


@pytest.fixture
def vocabulary_file(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("good\nbad\nmovie\n", encoding="utf-8")
    return str(path)


def test_sqrt_n_combiner_and_empty_sentences(vocabulary_file):
    layer = BagOfWordsEmbedding(vocabulary_file, oov_buckets=2, output_dim=4, embeddings_initializer="random_normal")
    out = np.asarray(layer(tf.constant(["good", "good movie", "", "!!"])))
    table = layer.embeddings.numpy()
    assert layer.vocabulary_size == 3 and table.shape == (5, 4)
    np.testing.assert_allclose(out[0], table[0], rtol=1e-6)
    np.testing.assert_allclose(out[1], (table[0] + table[2]) / np.sqrt(2), rtol=1e-5)
    np.testing.assert_array_equal(out[2:], 0.0)
    unknown = np.asarray(layer(tf.constant(["zebra"])))[0]
    assert any(np.allclose(unknown, table[i]) for i in (3, 4))  # an out-of-vocabulary hash bucket


def test_config_round_trips(vocabulary_file):
    layer = BagOfWordsEmbedding(vocabulary_file, oov_buckets=3, output_dim=5, name="bow")
    again = BagOfWordsEmbedding.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"vocabulary_file": ""}, "Received: vocabulary_file=''"), ({"oov_buckets": 0}, "oov_buckets"), ({"output_dim": -1}, "output_dim")],
)
def test_bad_arguments_repeat_the_value(vocabulary_file, kwargs, message):
    with pytest.raises(ValueError, match=message):
        BagOfWordsEmbedding(**{"vocabulary_file": vocabulary_file, **kwargs})


def test_exports_as_a_reusable_savedmodel_with_its_vocabulary_asset(vocabulary_file, tmp_path):
    inputs = keras.Input((), dtype="string")
    layer = BagOfWordsEmbedding(vocabulary_file, oov_buckets=2, output_dim=4)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="tanh")(layer(inputs)))
    spec = tf.TensorSpec([None], tf.string, name="sentences")
    path = write_reusable(model, tmp_path / "bow", spec, resources=[layer.lookup_table])
    assert (path / "assets" / "words.txt").is_file()
    sentences = tf.constant(["a good movie", "", "schlecht"])
    loaded = hub.load(str(path))
    np.testing.assert_allclose(loaded(sentences, training=False).numpy(), np.asarray(model(sentences)), atol=1e-6)
    np.testing.assert_allclose(loaded.signatures["serving_default"](sentences=sentences)["feature_vector"].numpy(), np.asarray(model(sentences)), atol=1e-6)
    assert len(loaded.trainable_variables) == 3


def test_export_without_the_table_is_refused(vocabulary_file, tmp_path):
    inputs = keras.Input((), dtype="string")
    model = keras.Model(inputs, BagOfWordsEmbedding(vocabulary_file, oov_buckets=2, output_dim=4)(inputs))
    with pytest.raises(AssertionError, match="untracked"):
        write_reusable(model, tmp_path / "bow", tf.TensorSpec([None], tf.string))
