"""End to end: both families learn to reverse short token sequences, judged by greedy decoding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.seq2seq import BOS_ID, EOS_ID, Decoder, RecurrentSeq2Seq, TransformerSeq2Seq

VOCABULARY, LENGTH = 14, 6  # ten ordinary tokens; sources of 3-6 of them
FAMILIES = {
    "transformer": (lambda: TransformerSeq2Seq(VOCABULARY, VOCABULARY, LENGTH, LENGTH + 1, dim=32, num_layers=1, num_heads=2, ff_dim=64, dropout=0.0), 4.5e-3),
    "recurrent": (lambda: RecurrentSeq2Seq(VOCABULARY, VOCABULARY, LENGTH, LENGTH + 1, embedding_dim=16, units=32, dropout=0.0), 1.5e-2),
}


def reversal_task(examples, seed):
    """`{source, target}`: 3-6 random tokens, and BOS, the same tokens reversed, EOS, PAD."""
    rng = np.random.default_rng(seed)
    source = np.zeros((examples, LENGTH), "int32")
    target = np.zeros((examples, LENGTH + 2), "int32")
    target[:, 0] = BOS_ID
    for row, length in enumerate(rng.integers(3, LENGTH + 1, examples)):
        tokens = rng.integers(4, VOCABULARY, length)
        source[row, :length] = tokens
        target[row, 1 : length + 1] = tokens[::-1]
        target[row, length + 1] = EOS_ID
    return {"source": source, "target": target}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_learns_to_reverse(family, tmp_path):
    keras.utils.set_random_seed(0)
    build, learning_rate = FAMILIES[family]
    model = build()
    model.compile(keras.optimizers.Adam(learning_rate), jit_compile=False)  # XLA compiles longer than this trains
    train = tf.data.Dataset.from_tensor_slices(reversal_task(384, seed=0)).shuffle(384, seed=0).batch(64)
    history = model.fit(train, epochs=15, verbose=0).history
    assert history["token_accuracy"][-1] > 0.9

    held_out = reversal_task(100, seed=1)
    result = Decoder(model).greedy(held_out["source"])
    exact = np.mean(np.all(result.ids == held_out["target"][:, 1:], axis=1))
    assert exact >= 0.9, f"{family}: exact match {exact:.2f}"

    # The trained model reloads compiled, with the same translations.
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert reloaded.compiled and reloaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()
    np.testing.assert_array_equal(Decoder(reloaded).greedy(held_out["source"]).ids, result.ids)
