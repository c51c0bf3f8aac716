"""The MFCC + logistic-regression baseline every keyword run reports beside its network.

Thirteen MFCCs per 25 ms frame and their deltas, summarised over the clip by
mean and standard deviation (52 numbers per clip), standardised, then a
multinomial logistic regression: the classic keyword-spotting baseline,
fitted on the same training clips and scored on the same held-out speakers.
"""

from __future__ import annotations

import numpy as np

MFCCS = 13
FEATURE_BATCH = 256


def mfcc_summary(waves: np.ndarray, sample_rate: int, frame_length: int = 400, frame_step: int = 160, fft_length: int = 512, mel_bins: int = 40) -> np.ndarray:
    """[clips, samples] waveforms -> [clips, 4 * 13]: mean and std of the MFCCs and of their deltas."""
    import tensorflow as tf

    mel_matrix = tf.signal.linear_to_mel_weight_matrix(mel_bins, fft_length // 2 + 1, sample_rate, 20.0, min(7600.0, sample_rate / 2))
    out = []
    for start in range(0, len(waves), FEATURE_BATCH):
        x = tf.constant(waves[start : start + FEATURE_BATCH], tf.float32)
        power = tf.square(tf.abs(tf.signal.stft(x, frame_length, frame_step, fft_length)))
        log_mel = tf.math.log(tf.tensordot(power, mel_matrix, 1) + 1e-6)
        mfcc = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :MFCCS]
        delta = mfcc[:, 1:] - mfcc[:, :-1]
        parts = [tf.reduce_mean(mfcc, 1), tf.math.reduce_std(mfcc, 1), tf.reduce_mean(delta, 1), tf.math.reduce_std(delta, 1)]
        out.append(tf.concat(parts, axis=-1).numpy())
    return np.concatenate(out).astype(np.float32)


def mfcc_logistic_baseline(
    waves: np.ndarray, labels: np.ndarray, split: np.ndarray, sample_rate: int, seed: int, classes: int | None = None, names=("validation", "test", "seen")
) -> dict:
    """Fit on the `train` clips; returns labels and class probabilities (`classes` columns) for each split in `names` present."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = mfcc_summary(waves, sample_rate)
    train = split == "train"
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
    model.fit(features[train], labels[train])
    classes = int(labels.max()) + 1 if classes is None else int(classes)  # a class without clips keeps its column
    out = {}
    for name in names:
        rows = split == name
        if not rows.any():
            continue
        probs = np.zeros((int(rows.sum()), classes), np.float32)
        probs[:, model.classes_] = model.predict_proba(features[rows])
        out[name] = (labels[rows], probs)
    return out
