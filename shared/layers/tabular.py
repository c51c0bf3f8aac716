"""Encoder for tabular rows: normalized numeric columns + categorical embeddings."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from shared.layers.argument_checks import check_non_negative_int, check_positive_int

# Input keys of an encoder with `grouped_inputs=True`.
from shared.layers.names import CATEGORICAL_INPUT, NUMERIC_INPUT  # noqa: F401 - re-exported


@keras.saving.register_keras_serializable(package="dlsuite")
class TabularEncoder(keras.layers.Layer):
    """Turns a dict of feature columns into one float vector per row.

    Numeric features are stacked and standardized by one `Normalization`
    layer (mean and variance are non-trainable weights, so they are saved
    with the model). Each categorical feature goes through its own
    `StringLookup` and `Embedding(embedding_dim)`. The output concatenates
    the normalized numeric columns, in `numeric_features` order, then the
    embeddings, in `categorical_features` order; `feature_slices()` says
    which output columns belong to which feature.

    Inputs come one tensor per feature, or, with `grouped_inputs=True`, one
    tensor per type: all numeric columns as one float matrix and all
    categorical columns as one string matrix. A model of a table with
    thousands of numeric columns then has two inputs instead of thousands,
    and builds and trains in seconds rather than minutes. Categorical
    columns keep one lookup each, so thousands of them stay slow.

    Vocabularies are either passed in or learned by `adapt(dataset)`, which
    must then run before the layer is first called. Either way they end up in
    `get_config()`, so a saved model reloads with `safe_mode=True`.
    Normalization statistics come from `adapt()`; without it the numeric
    columns pass through unscaled.

    Args:
        numeric_features: list of str. Names of float features.
        categorical_features: list of str. Names of string features.
        embedding_dim: int. Size of each categorical embedding. Must be
            positive. Defaults to `8`.
        vocabularies: dict of str to list of str. Known vocabulary of some
            or all categorical features, without OOV tokens; `adapt()` learns
            the others. Defaults to `None` (learn all).
        num_oov_indices: int. Number of out-of-vocabulary buckets per
            categorical feature; unseen strings are hashed into them.
            Defaults to `1`.
        grouped_inputs: bool. Take the inputs as `{"numeric": ...,
            "categorical": ...}` (`NUMERIC_INPUT`, `CATEGORICAL_INPUT`)
            instead of one entry per feature. Defaults to `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        A dict mapping every feature name to a `(batch_size,)` or
        `(batch_size, 1)` tensor: float for numeric features, string for
        categorical ones. With `grouped_inputs=True`, a dict with
        `"numeric"`: `(batch_size, len(numeric_features))` float and
        `"categorical"`: `(batch_size, len(categorical_features))` string,
        columns in feature order (a key is left out when it has no features).

    Output shape:
        `(batch_size, len(numeric_features) + len(categorical_features) *
        embedding_dim)`.

    Example:

    ```python
    import numpy as np
    import tensorflow as tf
    from shared.layers import TabularEncoder

    rows = {
        "age": np.array([22.0, 35.0, 58.0, 41.0], "float32"),
        "city": np.array(["paris", "rome", "paris", "oslo"]),
    }
    encoder = TabularEncoder(["age"], ["city"], embedding_dim=4)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(rows).batch(2))
    assert encoder(rows).shape == (4, 5)
    assert encoder.feature_slices() == {"age": (0, 1), "city": (1, 5)}
    vocabularies = encoder.get_config()["vocabularies"]
    assert sorted(vocabularies["city"]) == ["oslo", "paris", "rome"]

    # A wide table: 500 numeric columns in one input.
    wide = {"numeric": np.random.rand(4, 500).astype("float32"),
            "categorical": rows["city"][:, None]}
    encoder = TabularEncoder([f"x{i}" for i in range(500)], ["city"],
                             embedding_dim=4, grouped_inputs=True)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(wide).batch(2))
    assert encoder(wide).shape == (4, 504)
    ```

    Reference:
        - [Guo & Berkhahn, 2016](https://arxiv.org/abs/1604.06737): Entity
          Embeddings of Categorical Variables.
    """

    def __init__(
        self,
        numeric_features,
        categorical_features,
        embedding_dim=8,
        vocabularies=None,
        num_oov_indices=1,
        grouped_inputs=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.numeric_features = _check_names("numeric_features", numeric_features)
        self.categorical_features = _check_names(
            "categorical_features", categorical_features
        )
        features = self.numeric_features + self.categorical_features
        if not features:
            raise ValueError(
                "TabularEncoder needs at least one feature. Received: "
                "numeric_features=[], categorical_features=[]"
            )
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise ValueError(
                "Each feature must be either numeric or categorical, once. "
                f"Received: repeated features {repeated}"
            )
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        # Zero OOV buckets is allowed: unseen strings then raise at lookup.
        self.num_oov_indices = check_non_negative_int(
            "num_oov_indices", num_oov_indices
        )
        self.vocabularies = _check_vocabularies(vocabularies, self.categorical_features)
        self.grouped_inputs = bool(grouped_inputs)

        # Created here rather than in build(): adapt() must reach them before
        # the layer is built, and build() needs the learned vocabulary sizes.
        self.normalizer = None
        if self.numeric_features:
            self.normalizer = keras.layers.Normalization(
                axis=-1, dtype="float32", name="normalizer"
            )
        self.lookups = [
            keras.layers.StringLookup(
                vocabulary=self.vocabularies.get(name),
                num_oov_indices=self.num_oov_indices,
                name=f"lookup_{index}",
            )
            for index, name in enumerate(self.categorical_features)
        ]

    def adapt(self, dataset):
        """Learns normalization statistics and missing vocabularies.

        Streams `dataset` once for the numeric features and once per
        categorical feature without a vocabulary.

        Args:
            dataset: `tf.data.Dataset` of batched feature dicts (or group
                dicts, with `grouped_inputs=True`), or of `(features,
                labels, ...)` tuples whose first element is such a dict.
                Extra keys are ignored.
        """
        if isinstance(dataset.element_spec, tuple):
            dataset = dataset.map(lambda *element: element[0])
        received = sorted(dataset.element_spec)
        missing = [name for name in self._input_names() if name not in dataset.element_spec]
        if missing:
            raise ValueError(
                f"The dataset lacks features {missing}. "
                f"Received: dataset features {received}"
            )

        if self.normalizer is not None:
            self.normalizer.adapt(dataset.map(self._numeric_matrix))
        for index, (name, lookup) in enumerate(zip(self.categorical_features, self.lookups)):
            if name in self.vocabularies:
                continue
            column = dataset.map(
                lambda features, index=index: tf.reshape(
                    self._categorical_column(features, index), (-1,)
                )
            )
            lookup.adapt(column)
            tokens = lookup.get_vocabulary(include_special_tokens=False)
            # NumPy strings would not survive JSON serialization of the config.
            self.vocabularies[name] = [str(token) for token in tokens]

    def _input_names(self):
        """The input keys the layer reads."""
        if not self.grouped_inputs:
            return self.numeric_features + self.categorical_features
        names = [NUMERIC_INPUT] if self.numeric_features else []
        return names + ([CATEGORICAL_INPUT] if self.categorical_features else [])

    def _numeric_matrix(self, inputs):
        """All numeric columns as one float32 `(batch, len(numeric_features))` tensor."""
        width = len(self.numeric_features)
        if self.grouped_inputs:
            return ops.reshape(ops.cast(inputs[NUMERIC_INPUT], "float32"), (-1, width))
        columns = [
            ops.reshape(ops.cast(inputs[name], "float32"), (-1, 1))
            for name in self.numeric_features
        ]
        return ops.concatenate(columns, axis=-1)

    def _categorical_column(self, inputs, index):
        """The `index`-th categorical column, `(batch,)` or `(batch, 1)` strings."""
        if self.grouped_inputs:
            return inputs[CATEGORICAL_INPUT][:, index]
        return inputs[self.categorical_features[index]]

    def feature_slices(self):
        """Maps each feature name to its `(start, end)` output columns.

        Summing an attribution over `outputs[:, start:end]` gives the share
        of the original feature.
        """
        slices = {}
        start = 0
        for name in self.numeric_features:
            slices[name] = (start, start + 1)
            start += 1
        for name in self.categorical_features:
            slices[name] = (start, start + self.embedding_dim)
            start += self.embedding_dim
        return slices

    @property
    def input_dtype(self):
        # Raw numeric columns (prices, counts) can overflow float16; they are
        # standardized in float32 and cast to the compute dtype only after.
        return "float32"

    @property
    def output_dim(self):
        """Width of the encoded vector."""
        categorical_width = len(self.categorical_features) * self.embedding_dim
        return len(self.numeric_features) + categorical_width

    def build(self, input_shape):
        missing = [name for name in self._input_names() if name not in input_shape]
        if missing:
            raise ValueError(
                f"TabularEncoder inputs lack features {missing}. "
                f"Received: input features {sorted(input_shape)}"
            )
        if self.grouped_inputs:
            for key, features in (
                (NUMERIC_INPUT, self.numeric_features),
                (CATEGORICAL_INPUT, self.categorical_features),
            ):
                width = tuple(input_shape[key])[-1] if features else None
                if features and width is not None and width != len(features):
                    raise ValueError(
                        f"Input {key!r} must have {len(features)} columns, one per "
                        f"feature. Received: shape {tuple(input_shape[key])}"
                    )
        unlearned = [
            name for name in self.categorical_features if name not in self.vocabularies
        ]
        if unlearned:
            raise ValueError(
                f"No vocabulary for categorical features {unlearned}. Call "
                "`adapt(dataset)` before using the layer, or pass "
                "`vocabularies`. Received: vocabularies for "
                f"{sorted(self.vocabularies)}"
            )
        if self.normalizer is not None and not self.normalizer.built:
            self.normalizer.build((None, len(self.numeric_features)))
        self.embeddings = []
        for index, lookup in enumerate(self.lookups):
            embedding = keras.layers.Embedding(
                lookup.vocabulary_size(),
                self.embedding_dim,
                dtype=self.dtype_policy,
                name=f"embedding_{index}",
            )
            embedding.build((None,))
            self.embeddings.append(embedding)

    def call(self, inputs):
        encoded = []
        if self.normalizer is not None:
            normalized = self.normalizer(self._numeric_matrix(inputs))
            encoded.append(ops.cast(normalized, self.compute_dtype))
        for index, (lookup, embedding) in enumerate(zip(self.lookups, self.embeddings)):
            # Lookup first: it accepts both (batch,) and (batch, 1) strings,
            # and integer ids are then safe to flatten.
            ids = ops.reshape(lookup(self._categorical_column(inputs, index)), (-1,))
            encoded.append(embedding(ids))
        if len(encoded) == 1:
            return encoded[0]
        return ops.concatenate(encoded, axis=-1)

    def compute_output_shape(self, input_shape):
        batch_size = next(iter(input_shape.values()))[0]
        return (batch_size, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "numeric_features": list(self.numeric_features),
            "categorical_features": list(self.categorical_features),
            "embedding_dim": self.embedding_dim,
            "vocabularies": {
                name: list(tokens) for name, tokens in self.vocabularies.items()
            },
            "num_oov_indices": self.num_oov_indices,
            "grouped_inputs": self.grouped_inputs,
        }


def _check_names(argument, names):
    """Return `names` as a list of str, or raise naming the bad value."""
    if isinstance(names, str) or not all(isinstance(name, str) for name in names):
        raise ValueError(
            f"`{argument}` must be a list of feature names. "
            f"Received: {argument}={names!r}"
        )
    return list(names)


def _check_vocabularies(vocabularies, categorical_features):
    """Return a fresh `{feature: [token, ...]}` dict, or raise on unknown keys."""
    vocabularies = dict(vocabularies or {})
    unknown = sorted(set(vocabularies) - set(categorical_features))
    if unknown:
        raise ValueError(
            f"`vocabularies` has entries for {unknown}, which are not in "
            f"categorical_features={categorical_features}. "
            f"Received: vocabularies keys {sorted(vocabularies)}"
        )
    return {
        name: [str(token) for token in tokens]
        for name, tokens in vocabularies.items()
    }
