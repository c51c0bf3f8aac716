"""Layer names that code outside a model builder relies on.

Explanations, fine-tuning and the app find these sub-layers by name, so a
builder that names a layer with one of these constants promises what it
holds. A model without the layer simply lacks the capability (for example
no Grad-CAM without `FEATURE_MAP`).
"""

FEATURES = "features"
"""A sub-model from raw inputs to the features attributions are computed on: encoded columns (tabular encoders), a log-mel spectrogram (speech)."""

SCORER = "scorer"
"""A sub-model from the encoded features to the score; with `FEATURES`, `scorer(features(x))` is the model."""

FEATURE_MAP = "feature_map"
"""An identity layer on the last convolutional feature map, [B, H, W, C]; Grad-CAM reads its gradients."""

BACKBONE = "backbone"
"""The pretrained backbone (a `HubBackbone`); transfer-learning phases freeze and unfreeze it."""

TABULAR = "tabular"
"""The `TabularEncoder` inside `FEATURES`; its `feature_slices()` map encoded columns back to input columns."""

NUMERIC_INPUT = "numeric"
"""The `TabularEncoder` input holding every numeric column, [B, numeric columns] (with `grouped_inputs=True`)."""

CATEGORICAL_INPUT = "categorical"
"""The `TabularEncoder` input holding every categorical column as strings, [B, categorical columns]."""
