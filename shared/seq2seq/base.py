"""`Seq2SeqModel`: teacher forcing, the masked loss and metric, and the decoding protocol."""

from __future__ import annotations

from collections.abc import Mapping

import keras
import tensorflow as tf
from keras import ops

from shared.layers.argument_checks import check_positive_int
from shared.seq2seq.tokens import PAD_ID

# The keys of the input dict; constants, so that pipelines and models cannot drift apart.
SOURCE = "source"
TARGET = "target"
_INPUT_KEYS = (SOURCE, TARGET)


def split_inputs(inputs):
    """`(source_ids, target_ids)` from an input dict `{SOURCE: ..., TARGET: ...}`."""
    if not isinstance(inputs, Mapping) or set(inputs) != set(_INPUT_KEYS):
        keys = sorted(inputs) if isinstance(inputs, Mapping) else type(inputs).__name__
        raise ValueError(
            f"A sequence-to-sequence model takes a dict with keys {list(_INPUT_KEYS)}: int32 source ids "
            f"(batch, S) and target ids (batch, T + 1) that start with BOS. Received: {keys}"
        )
    return inputs[SOURCE], inputs[TARGET]


def check_label_smoothing(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`label_smoothing` must be in [0, 1). Received: label_smoothing={value!r}")
    return float(value)


class Seq2SeqModel(keras.Model):
    """Base of the encoder-decoder models in `shared.seq2seq.models`.

    Inputs are a dict `{SOURCE: (batch, S) ids, TARGET: (batch, T + 1) ids}`
    where each target row is `BOS, tokens..., EOS, PAD...`. The decoder reads
    `target[:, :-1]` and `call` returns logits `(batch, T, target_vocab_size)`
    for `target[:, 1:]` (teacher forcing). `compute_loss` is the sparse
    categorical cross-entropy over the non-PAD labels, with optional label
    smoothing, averaged over the labelled tokens of the global batch; the
    labels come from the inputs, so a dataset of input dicts alone trains
    with `fit` (compile without `loss` and `metrics`). `token_accuracy`
    tracks the fraction of non-PAD labels that the logits rank first.

    Subclasses build the layers and implement the decoding protocol
    documented in `shared.seq2seq`: `encode`, `initial_cache`,
    `decode_step`, `decode_full` and `cross_attention`; `call` is
    `decode_full(target[:, :-1], encode(source))`.

    Args:
        source_vocab_size: int. Number of source ids, PAD included.
        target_vocab_size: int. Number of target ids, PAD included.
        source_length: int. Longest source sequence.
        target_length: int. Longest target sequence `T`, EOS included and
            BOS excluded: the decoder reads and predicts `T` positions.
        label_smoothing: float. In `[0, 1)`. Defaults to `0.0`.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).
    """

    def __init__(
        self,
        source_vocab_size,
        target_vocab_size,
        source_length,
        target_length,
        label_smoothing=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocab_size = check_positive_int("source_vocab_size", source_vocab_size)
        self.target_vocab_size = check_positive_int("target_vocab_size", target_vocab_size)
        self.source_length = check_positive_int("source_length", source_length)
        self.target_length = check_positive_int("target_length", target_length)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.token_accuracy = keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")

    def call(self, inputs, training=None):
        source, target = split_inputs(inputs)
        encoded = self.encode(source, training=training, for_decoding=False)
        return self.decode_full(target[:, :-1], encoded, training=training)

    # `compile` is not overridden: Keras restores the compiled state of a
    # loaded model only when it is not, so a stray `loss` is refused here.
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        del training
        if self.loss is not None:
            raise ValueError(
                f"{type(self).__name__} computes its own loss from inputs['{TARGET}']; compile it without "
                f"`loss`. Received: loss={self.loss!r}"
            )
        labels, weights = self._labels_and_weights(x, y, sample_weight)
        logits = ops.cast(y_pred, "float32")
        if self.label_smoothing:
            one_hot = ops.one_hot(labels, self.target_vocab_size, dtype="float32")
            per_token = keras.losses.categorical_crossentropy(
                one_hot, logits, from_logits=True, label_smoothing=self.label_smoothing
            )
        else:
            per_token = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        # Each replica sees its share of the global batch and the gradients
        # are summed across replicas, so dividing by the replica count gives
        # the mean over the global batch, as Keras' own losses do.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        tokens = ops.sum(ops.cast(ops.not_equal(labels, PAD_ID), "float32"))
        loss = ops.divide_no_nan(ops.sum(per_token * weights), tokens) / replicas
        for extra in self.losses:
            loss = loss + ops.sum(ops.cast(extra, loss.dtype))
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        labels, weights = self._labels_and_weights(x, y, sample_weight)
        self.token_accuracy.update_state(labels, ops.cast(y_pred, "float32"), sample_weight=weights)
        return self.get_metrics_result()

    def _labels_and_weights(self, x, y, sample_weight):
        """`target[:, 1:]` and float32 weights `(batch, T)`: 0 on PAD, times `sample_weight`."""
        if y is not None:
            raise ValueError(
                f"{type(self).__name__} reads its labels from inputs['{TARGET}'][:, 1:]; feed the input dict "
                f"alone (no separate targets). Received: y of type {type(y).__name__}"
            )
        _, target = split_inputs(x)
        labels = ops.cast(target[:, 1:], "int32")
        weights = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            if len(sample_weight.shape) == 1:
                sample_weight = ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
        return labels, weights

    # The decoding protocol; see the `shared.seq2seq` docstring.
    def encode(self, source_ids, training=False, for_decoding=True):
        raise NotImplementedError

    def initial_cache(self, encoded, max_length=None):
        raise NotImplementedError

    def decode_step(self, token_ids, cache, index, encoded):
        raise NotImplementedError

    def decode_full(self, prefix_ids, encoded, training=False):
        raise NotImplementedError

    def cross_attention(self, source_ids, target_in_ids):
        raise NotImplementedError

    def serving_endpoints(self):
        """The SavedModel endpoints (`shared.export`): token ids in and out, so no tokenizer op is in the graph.

        `serving_default` and `translate` decode greedily with the cache:
        `source_ids` int32 `(batch, S)` -> `target_ids` int32 `(batch,
        target_length)` (PAD after EOS) and `log_prob` `(batch,)`. `serve`
        is the teacher-forced call: the input dict -> logits.
        """
        from shared.seq2seq.decoding import Decoder

        decoder = Decoder(self)

        def translate(source_ids):
            ids, log_probs = decoder._greedy_graph(source_ids, True)
            return {"target_ids": ids, "log_prob": log_probs}

        source = tf.TensorSpec((None, self.source_length), tf.int32, name="source_ids")
        teacher = {
            SOURCE: tf.TensorSpec((None, self.source_length), tf.int32, name=SOURCE),
            TARGET: tf.TensorSpec((None, self.target_length + 1), tf.int32, name=TARGET),
        }
        return {
            "serving_default": (translate, [source]),
            "translate": (translate, [source]),
            "serve": (lambda inputs: self(inputs, training=False), [teacher]),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "source_length": self.source_length,
            "target_length": self.target_length,
            "label_smoothing": self.label_smoothing,
        }
