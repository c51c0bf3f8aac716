import keras
import numpy as np
import pytest

from shared.layers import PositionalEmbedding, TransformerDecoderBlock, TransformerEncoderBlock

RNG = np.random.default_rng(0)
TARGETS = RNG.standard_normal((2, 5, 8)).astype("float32")
SOURCES = RNG.standard_normal((2, 6, 6)).astype("float32")


def block(**kwargs):
    return TransformerDecoderBlock(num_heads=2, key_dim=4, ff_dim=16, **kwargs)


def test_output_shape():
    decoder = block()
    assert decoder(TARGETS, SOURCES).shape == (2, 5, 8)
    assert decoder.compute_output_shape(TARGETS.shape, SOURCES.shape) == (2, 5, 8)


def test_does_not_look_ahead():
    decoder = block()
    original = decoder(TARGETS, SOURCES)
    changed = TARGETS.copy()
    changed[:, 3] = 100.0
    outputs = decoder(changed, SOURCES)
    np.testing.assert_allclose(outputs[:, :3], original[:, :3], atol=1e-5)
    assert not np.allclose(outputs[:, 3:], original[:, 3:], atol=1e-3)


def test_padded_encoder_positions_are_not_attended_to():
    decoder = block()
    source_mask = np.array([[True] * 4 + [False] * 2, [True] * 6])
    changed = SOURCES.copy()
    changed[0, 4:] = 100.0
    original = decoder(TARGETS, SOURCES, encoder_outputs_mask=source_mask)
    outputs = decoder(TARGETS, changed, encoder_outputs_mask=source_mask)
    np.testing.assert_allclose(outputs, original, atol=1e-5)
    assert not np.allclose(decoder(TARGETS, changed), decoder(TARGETS, SOURCES), atol=1e-3)


def test_padded_target_positions_are_not_attended_to():
    decoder = block()
    target_mask = np.array([[True, False, True, True, True], [True] * 5])
    changed = TARGETS.copy()
    changed[0, 1] = 100.0
    original = decoder(TARGETS, SOURCES, inputs_mask=target_mask)
    outputs = decoder(changed, SOURCES, inputs_mask=target_mask)
    np.testing.assert_allclose(outputs[0, 2:], original[0, 2:], atol=1e-5)


def test_input_mask_is_passed_on(keras_mask):
    tokens = np.array([[1, 2, 3, 0], [4, 5, 6, 7]])
    embedded = PositionalEmbedding(10, sequence_length=4, embedding_dim=8)(tokens)
    np.testing.assert_array_equal(keras_mask(block()(embedded, SOURCES)), tokens != 0)


def test_stacked_decoders_keep_the_encoder_mask():
    # Padding the source must change nothing if every block sees its mask.
    sources = keras.Input((None,), dtype="int32")
    targets = keras.Input((4,), dtype="int32")
    encoded = TransformerEncoderBlock(2, 4, 16)(PositionalEmbedding(20, 6, 8)(sources))
    x = PositionalEmbedding(20, 4, 8)(targets)
    x = block()(x, encoded)
    x = block()(x, encoded)
    model = keras.Model([sources, targets], x)
    target_tokens = np.array([[1, 2, 3, 4]])
    padded = model([np.array([[5, 6, 7, 0, 0]]), target_tokens])
    unpadded = model([np.array([[5, 6, 7]]), target_tokens])
    np.testing.assert_allclose(padded, unpadded, atol=1e-5)


def test_dropout_only_while_training():
    decoder = block(dropout=0.5)
    np.testing.assert_allclose(
        decoder(TARGETS, SOURCES, training=False), decoder(TARGETS, SOURCES, training=False)
    )
    assert not np.allclose(decoder(TARGETS, SOURCES, training=True), decoder(TARGETS, SOURCES))


def test_config_round_trip():
    decoder = block(dropout=0.0, epsilon=1e-5)
    config = decoder.get_config()
    assert TransformerDecoderBlock.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_heads": -1, "key_dim": 4, "ff_dim": 8}, "Received: num_heads=-1"),
        ({"num_heads": 2, "key_dim": 0, "ff_dim": 8}, "Received: key_dim=0"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": "8"}, "Received: ff_dim='8'"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": 8, "dropout": -0.1}, "Received: dropout=-0.1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerDecoderBlock(**kwargs)


def test_rejects_encoder_outputs_without_a_time_axis():
    with pytest.raises(ValueError, match=r"Received: encoder_outputs shape=\(2, 6\)"):
        block()(TARGETS, np.zeros((2, 6), "float32"))


def decode_step_by_step(decoder, targets, sources, source_mask=None, chunks=None):
    """Runs `decoder` over `targets` in chunks (default: one position each) through its cache."""
    length = targets.shape[1]
    cache = decoder.initial_self_attention_cache(len(targets), length)
    cross = None
    outputs, start = [], 0
    for size in chunks or [1] * length:
        kwargs = {} if cross is None else {"cross_attention_cache": cross}
        step, cache, cross = decoder(
            targets[:, start : start + size], sources, encoder_outputs_mask=source_mask,
            self_attention_cache=cache, self_attention_cache_update_index=start, **kwargs,
        )
        outputs.append(step)
        start += size
    return np.concatenate(outputs, axis=1), cache


def test_cached_steps_equal_the_full_pass():
    decoder = block()
    source_mask = np.array([[True] * 4 + [False] * 2, [True] * 6])
    full = decoder(TARGETS, SOURCES, encoder_outputs_mask=source_mask)
    stepped, cache = decode_step_by_step(decoder, TARGETS, SOURCES, source_mask)
    np.testing.assert_allclose(stepped, full, atol=1e-5)
    assert cache.shape == (2, 2, 5, 2, 4)


def test_a_cached_prefix_then_single_steps_equal_the_full_pass():
    decoder = block()
    stepped, _ = decode_step_by_step(decoder, TARGETS, SOURCES, chunks=[3, 1, 1])
    np.testing.assert_allclose(stepped, decoder(TARGETS, SOURCES), atol=1e-5)


def test_a_step_writes_the_cache_at_its_index_only():
    decoder = block()
    cache = decoder.initial_self_attention_cache(2, 5)
    _, updated, _ = decoder(TARGETS[:, 2:3], SOURCES, self_attention_cache=cache, self_attention_cache_update_index=2)
    changed = np.any(keras.ops.convert_to_numpy(updated) != 0, axis=(0, 1, 3, 4))
    np.testing.assert_array_equal(changed, [False, False, True, False, False])


def test_cross_attention_weights_cached_and_uncached():
    decoder = block()
    source_mask = np.array([[True] * 4 + [False] * 2, [True] * 6])
    outputs, scores = decoder(TARGETS, SOURCES, encoder_outputs_mask=source_mask, return_cross_attention=True)
    np.testing.assert_allclose(outputs, decoder(TARGETS, SOURCES, encoder_outputs_mask=source_mask), atol=1e-6)
    scores = keras.ops.convert_to_numpy(scores)
    assert scores.shape == (2, 2, 5, 6)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(scores[0, :, :, 4:] < 1e-6)
    cache = decoder.initial_self_attention_cache(2, 5)
    *_, step_scores = decoder(
        TARGETS[:, :1], SOURCES, encoder_outputs_mask=source_mask, self_attention_cache=cache,
        self_attention_cache_update_index=0, return_cross_attention=True,
    )
    np.testing.assert_allclose(step_scores[:, :, 0], scores[:, :, 0], atol=1e-5)


def test_cached_step_needs_no_encoder_outputs_once_cross_attention_is_cached():
    decoder = block()
    with pytest.raises(ValueError, match="before computing a cross-attention cache"):
        decoder.compute_cross_attention_cache(SOURCES)
    full = decoder(TARGETS, SOURCES)
    cache = decoder.initial_self_attention_cache(2, 5)
    cross = decoder.compute_cross_attention_cache(SOURCES)
    assert cross.shape == (2, 2, 6, 2, 4)
    step, _, _ = decoder(TARGETS[:, :1], None, self_attention_cache=cache, self_attention_cache_update_index=0, cross_attention_cache=cross)
    np.testing.assert_allclose(step[:, 0], full[:, 0], atol=1e-5)


def test_cached_path_under_mixed_precision(mixed_precision):
    decoder = block()
    full = decoder(TARGETS, SOURCES)
    stepped, cache = decode_step_by_step(decoder, TARGETS, SOURCES)
    assert keras.backend.standardize_dtype(cache.dtype) == "float16"
    np.testing.assert_allclose(stepped, full, atol=1e-2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"self_attention_cache": np.zeros((2, 2, 5, 2, 4), "float32")}, "Received: self_attention_cache_update_index=None"),
        ({"self_attention_cache_update_index": 0}, "Received: self_attention_cache=None"),
        ({"cross_attention_cache": np.zeros((2, 2, 6, 2, 4), "float32")}, "Received: self_attention_cache=None"),
    ],
)
def test_cache_arguments_are_checked(kwargs, message):
    decoder = block()
    decoder(TARGETS, SOURCES)
    with pytest.raises(ValueError, match=message):
        decoder(TARGETS, SOURCES, **kwargs)


def test_needs_encoder_outputs_or_their_cache():
    decoder = block()
    decoder(TARGETS, SOURCES)
    with pytest.raises(ValueError, match="Received: encoder_outputs=None"):
        decoder(TARGETS, None)
