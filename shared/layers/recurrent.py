"""Recurrent block: an LSTM or GRU, optionally bidirectional, mask-aware."""

from __future__ import annotations

import keras

from shared.layers.argument_checks import check_choice, check_positive_int, check_rate

# A table rather than if/elif: supporting another cell is one more entry.
RECURRENT_LAYERS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


@keras.saving.register_keras_serializable(package="dlsuite")
class RecurrentBlock(keras.layers.Layer):
    """LSTM or GRU over a sequence, optionally bidirectional.

    Padding masks are honoured: a mask from an upstream `Embedding(
    mask_zero=True)`, `Masking` or `PositionalEmbedding` makes the recurrence
    skip padded steps. With `return_sequences=True` the mask is passed on to
    the next layer; otherwise the output has no time axis and no mask.

    Args:
        units: int. Size of the recurrent state (per direction). Must be
            positive.
        cell: str. `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        bidirectional: bool. Whether to also run the sequence backwards and
            concatenate both directions, doubling the feature size.
            Defaults to `False`.
        return_sequences: bool. Whether to return the output of every step
            instead of only the last one. Defaults to `False`.
        dropout: float. Dropout rate on the inputs of each step, in `[0, 1)`.
            Defaults to `0.0`.
        recurrent_dropout: float. Dropout rate on the recurrent state, in
            `[0, 1)`. Defaults to `0.0`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        `(batch_size, timesteps, features)`, with an optional
        `(batch_size, timesteps)` boolean mask.

    Output shape:
        `(batch_size, timesteps, directions * units)` when
        `return_sequences=True`, else `(batch_size, directions * units)`,
        where `directions` is 2 when `bidirectional=True`, else 1.

    Example:

    ```python
    import numpy as np
    import keras
    from shared.layers import RecurrentBlock

    tokens = np.array([[3, 5, 0, 0], [2, 4, 6, 1]])
    embedded = keras.layers.Embedding(10, 8, mask_zero=True)(tokens)
    block = RecurrentBlock(4, cell="gru", bidirectional=True)
    assert block(embedded).shape == (2, 8)
    ```

    Reference:
        - [Hochreiter & Schmidhuber, 1997](
          https://www.bioinf.jku.at/publications/older/2604.pdf): LSTM.
        - [Cho et al., 2014](https://arxiv.org/abs/1406.1078): GRU.
    """

    def __init__(
        self,
        units,
        cell="lstm",
        bidirectional=False,
        return_sequences=False,
        dropout=0.0,
        recurrent_dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        check_choice("cell", cell, RECURRENT_LAYERS)
        self.cell = cell
        self.bidirectional = bool(bidirectional)
        self.return_sequences = bool(return_sequences)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.supports_masking = True

    def build(self, input_shape):
        rnn = RECURRENT_LAYERS[self.cell](
            self.units,
            return_sequences=self.return_sequences,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            dtype=self.dtype_policy,
            name=self.cell,
        )
        if self.bidirectional:
            rnn = keras.layers.Bidirectional(
                rnn, merge_mode="concat", dtype=self.dtype_policy, name="bidirectional"
            )
        self.rnn = rnn
        self.rnn.build(input_shape)

    def call(self, inputs, mask=None, training=None):
        return self.rnn(inputs, mask=mask, training=training)

    def compute_mask(self, inputs, mask=None):
        # Without a time axis in the output there is nothing left to mask.
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape):
        features = self.units * (2 if self.bidirectional else 1)
        if self.return_sequences:
            return (input_shape[0], input_shape[1], features)
        return (input_shape[0], features)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "cell": self.cell,
            "bidirectional": self.bidirectional,
            "return_sequences": self.return_sequences,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }
