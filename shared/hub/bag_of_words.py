"""BagOfWordsEmbedding: raw sentences to sqrt-n combined word embeddings, in core TensorFlow ops.

The front end of the suite's own text backbone (`dlsuite/wordnet-gloss-64`),
the same kind of model as NNLM on tfhub.dev: the tokenizer and the
vocabulary are inside the graph, so the exported SavedModel takes a batch of
raw UTF-8 strings and loads in stock TensorFlow (no tensorflow-text ops).

Tokenization (`split_words`):

1. invalid UTF-8 bytes become U+FFFD, so no input makes the ops fail;
2. Unicode lower-casing (`tf.strings.lower(..., encoding="utf-8")`);
3. `n't` becomes ` not` (`isn't`, `don’t`) and a possessive `'s` is dropped,
   so negation reaches the model as the word it learned from the glosses;
4. every run of characters that are not letters, combining marks or digits
   (`\\p{L}`, `\\p{M}`, `\\p{N}`) is a separator: punctuation and symbols
   split words, accented and non-Latin letters stay inside them (`café`,
   `straße`, `日本語` are single words). No Unicode normalization: a
   decomposed `é` (e + U+0301) is another word than the composed one.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from shared.layers.argument_checks import check_positive_int

NEGATION = r"n['’]t\b"
POSSESSIVE = r"['’]s\b"
SEPARATORS = r"[^\p{L}\p{M}\p{N}]+"


def split_words(sentences):
    """`(batch,)` UTF-8 strings -> `(batch, None)` ragged words, as described in the module docstring."""
    text = tf.strings.unicode_transcode(sentences, "UTF-8", "UTF-8", errors="replace")
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, NEGATION, " not")
    text = tf.strings.regex_replace(text, POSSESSIVE, "")
    text = tf.strings.regex_replace(text, SEPARATORS, " ")
    return tf.strings.split(text)


@keras.saving.register_keras_serializable(package="dlsuite")
class BagOfWordsEmbedding(keras.layers.Layer):
    """Raw sentences -> the sqrt-n combination of their word embeddings.

    Each sentence is split into words (`split_words`), each word is looked up
    in a `tf.lookup.StaticVocabularyTable` (the vocabulary file's line
    number, or one of `oov_buckets` hash buckets for any other word), and the
    row vectors of a trainable embedding are combined as
    `sum / sqrt(count)`, the combiner of NNLM. A sentence without words
    gives a zero vector. String processing has no `keras.ops` equivalent,
    so `call` uses TensorFlow ops; the layer runs on the TensorFlow backend.

    Args:
        vocabulary_file: str. Text file, one word per line; line `i` is word
            id `i`. The file becomes an asset of an exported SavedModel.
        oov_buckets: int. Hash buckets for out-of-vocabulary words.
            Defaults to `1000`.
        output_dim: int. Embedding size. Defaults to `64`.
        embeddings_initializer: str or initializer. Defaults to `"uniform"`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Input shape:
        `(batch_size,)` strings.

    Output shape:
        `(batch_size, output_dim)`.

    Example:

    ```python
    import tensorflow as tf
    from pathlib import Path

    Path("/tmp/words.txt").write_text("good\\nbad\\nmovie\\n")
    layer = BagOfWordsEmbedding("/tmp/words.txt", oov_buckets=4, output_dim=8)
    layer(tf.constant(["A good movie!", ""])).shape  # (2, 8); the second row is zeros
    ```

    Reference:
        - [NNLM on TF Hub](https://tfhub.dev/google/nnlm-en-dim50/2)
        - Bengio et al. (2003). A Neural Probabilistic Language Model. JMLR 3.
    """

    def __init__(self, vocabulary_file, oov_buckets=1000, output_dim=64, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(vocabulary_file, str) or not vocabulary_file:
            raise ValueError(f"`vocabulary_file` must be a path string. Received: vocabulary_file={vocabulary_file!r}")
        self.vocabulary_file = vocabulary_file
        self.oov_buckets = check_positive_int("oov_buckets", oov_buckets)
        self.output_dim = check_positive_int("output_dim", output_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape):
        # Eagerly, even when first called on a symbolic input: the table is a
        # resource that outlives any traced function.
        with tf.init_scope():
            initializer = tf.lookup.TextFileInitializer(
                self.vocabulary_file,
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            )
            # Anonymous: no shared name derived from the file path, so the graph is the same from any folder.
            self.lookup_table = tf.lookup.StaticVocabularyTable(initializer, self.oov_buckets, experimental_is_anonymous=True)
            self.vocabulary_size = int(self.lookup_table.size()) - self.oov_buckets
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.vocabulary_size + self.oov_buckets, self.output_dim),
            initializer=self.embeddings_initializer,
        )

    def call(self, inputs):
        ids = self.lookup_table.lookup(split_words(inputs))
        vectors = tf.gather(self.embeddings.value, ids.flat_values)
        total = tf.math.unsorted_segment_sum(vectors, ids.value_rowids(), tf.shape(inputs, out_type=tf.int64)[0])
        count = tf.cast(ids.row_lengths(), total.dtype)[:, None]
        return tf.cast(total / tf.sqrt(tf.maximum(count, 1.0)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_file": self.vocabulary_file,
            "oov_buckets": self.oov_buckets,
            "output_dim": self.output_dim,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }
