"""`CTCModel`: a functional model whose loss is CTC over its per-frame logits."""

from __future__ import annotations

from collections.abc import Mapping

import keras
import tensorflow as tf
from keras import ops

from shared.ctc.vocabulary import BLANK

# The keys of a dict `y`; constants, so that pipelines and the model cannot drift apart.
LABELS = "labels"
LOGIT_LENGTH = "logit_length"
_TARGET_KEYS = (LABELS, LOGIT_LENGTH)


def _targets(y):
    """`(labels, logit_length or None)` from a label tensor or a `{labels, logit_length}` dict."""
    if y is None:
        raise ValueError(
            f"CTCModel needs targets to compute its loss: a padded label tensor or a dict with {list(_TARGET_KEYS)}. Received: y=None"
        )
    if not isinstance(y, Mapping):
        return y, None
    unknown = sorted(set(y) - set(_TARGET_KEYS))
    if LABELS not in y or unknown:
        raise ValueError(f"CTCModel targets must be a dict with `{LABELS}` and optionally `{LOGIT_LENGTH}`. Received keys: {sorted(y)}")
    return y[LABELS], y.get(LOGIT_LENGTH)


def ctc_losses(labels, logits, logit_length=None):
    """Per-example CTC loss (negative log-likelihood), float32 `(batch,)`.

    Args:
        labels: int tensor `(batch, max_label_length)`. Label ids `>= 1`
            followed by padding (0 or -1); the label length is the number
            of positive entries.
        logits: float tensor `(batch, frames, vocab_size)`. Unnormalized
            per-frame scores, id 0 the blank.
        logit_length: int tensor `(batch,)` or `(batch, 1)`, or None. Valid
            frames of each example (the rest is padding); `None` means every
            frame. Defaults to `None`.
    """
    labels = ops.cast(labels, "int32")
    label_length = ops.sum(ops.cast(labels > BLANK, "int32"), axis=-1)
    if logit_length is None:
        logit_length = ops.full((ops.shape(logits)[0],), ops.shape(logits)[1], dtype="int32")
    else:
        logit_length = ops.reshape(ops.cast(logit_length, "int32"), (-1,))
    losses = ops.ctc_loss(labels, logits, label_length, logit_length, mask_index=BLANK)
    return ops.cast(losses, "float32")


@keras.saving.register_keras_serializable(package="dlsuite")
class CTCModel(keras.Model):
    """A functional model trained with CTC loss on its per-frame logits.

    Build it like `keras.Model(inputs, outputs)`: `outputs` are logits of
    shape `(batch, frames, vocab_size)` with id 0 the CTC blank (see
    `CharVocabulary`), with no softmax. Compile it without a `loss` (`fit`
    refuses one): `compute_loss` is the CTC negative log-likelihood,
    averaged per example over the global batch (sample weights multiply
    each example's loss before averaging, as Keras' default
    `"sum_over_batch_size"` reduction does), plus the model's
    regularization losses.

    Targets (`y` in `fit` and `evaluate`) are either:

    - a label tensor `(batch, max_label_length)`: ids `>= 1`, padded at the
      end with 0 (what `Dataset.padded_batch` gives) or -1; every logit
      frame counts;
    - a dict `{LABELS: labels, LOGIT_LENGTH: frames}` where `frames`
      (`(batch,)` ints) is the number of valid logit frames of each example,
      for batches of padded inputs. Compute it in the data pipeline from the
      unpadded input length and the model's downsampling.

    Padding frames of the logits are not read when `logit_length` is given;
    a Keras mask is not used. An example needs at least as many valid frames
    as label ids plus one per repeated pair (a blank must separate them);
    otherwise its loss is a large finite constant (about 700) rather than
    `inf`, so drop such examples in the pipeline.

    The model is a plain functional model for saving: it round-trips through
    `get_config` and `.keras` files, and reloads with
    `keras.saving.load_model(path, safe_mode=True)` once `shared.ctc.model`
    is imported.

    Example:

    ```python
    import keras
    import numpy as np
    from shared.ctc import CTCModel, LABELS, LOGIT_LENGTH

    frames = keras.Input((None, 8))
    x = keras.layers.Bidirectional(keras.layers.GRU(16, return_sequences=True))(frames)
    model = CTCModel(frames, keras.layers.Dense(5)(x))
    model.compile("adam")
    x = np.random.default_rng(0).normal(size=(2, 12, 8)).astype("float32")
    y = {LABELS: np.array([[1, 2, 2], [3, 0, 0]]), LOGIT_LENGTH: np.array([12, 9])}
    model.fit(x, y, epochs=1, verbose=0)
    ```

    Reference:
        - [Graves et al., 2006](https://www.cs.toronto.edu/~graves/icml_2006.pdf):
          Connectionist temporal classification.
    """

    # `compile` is not overridden: Keras restores the compiled state of a
    # loaded model only when it is not, so a stray `loss` is refused here.
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        del x, training
        if self.loss is not None:
            raise ValueError(f"CTCModel computes its own CTC loss; compile it without `loss`. Received: loss={self.loss!r}")
        labels, logit_length = _targets(y)
        per_example = ctc_losses(labels, y_pred, logit_length)
        if sample_weight is not None:
            per_example = per_example * ops.reshape(ops.cast(sample_weight, per_example.dtype), (-1,))
        batch = ops.cast(ops.shape(per_example)[0], per_example.dtype)
        # Each replica sees its share of the global batch and the gradients
        # are summed across replicas, so dividing by the replica count gives
        # the mean over the global batch, as Keras' own losses do.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        loss = ops.divide_no_nan(ops.sum(per_example), batch) / replicas
        for extra in self.losses:
            loss = loss + ops.sum(ops.cast(extra, loss.dtype))
        return loss
