import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.seq2seq import Decoder, RecurrentSeq2Seq, TransformerSeq2Seq

VOCABULARY, TARGET_LENGTH = 20, 7


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def reference_loss(batch, logits, label_smoothing=0.0, sample_weight=None):
    labels = batch["target"][:, 1:]
    targets = np.eye(VOCABULARY)[labels] * (1 - label_smoothing) + label_smoothing / VOCABULARY
    per_token = -(targets * log_softmax(np.asarray(logits, "float64"))).sum(axis=-1)
    weights = (labels != 0).astype("float64")
    if sample_weight is not None:
        weights = weights * sample_weight[:, None]
    return (per_token * weights).sum() / (labels != 0).sum()


def test_logits_are_teacher_forced(make_model, batch):
    model = make_model()
    logits = model(batch)
    assert logits.shape == (5, TARGET_LENGTH, VOCABULARY)
    # Position t sees target[:, :t + 1] only: changing a later token leaves it alone.
    changed = {**batch, "target": batch["target"].copy()}
    changed["target"][:, 4] = 19
    np.testing.assert_allclose(model(changed)[:, :4], logits[:, :4], atol=1e-5)


def test_decode_step_matches_decode_full_at_every_position(make_model, batch):
    model = make_model()
    target_in = batch["target"][:, :-1]
    encoded = model.encode(batch["source"])
    full = keras.ops.convert_to_numpy(model.decode_full(target_in, encoded))
    cache = model.initial_cache(encoded)
    for index in range(TARGET_LENGTH):
        logits, cache = model.decode_step(target_in[:, index : index + 1], cache, index, encoded)
        np.testing.assert_allclose(logits, full[:, index], atol=1e-4, err_msg=f"position {index}")


def test_padding_the_source_changes_nothing(make_model, batch):
    model = make_model()
    short = {"source": batch["source"][:1, :3], "target": batch["target"][:1]}
    padded = {"source": batch["source"][:1], "target": batch["target"][:1]}
    np.testing.assert_allclose(model(padded), model(short), atol=1e-5)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_loss_is_the_pad_masked_cross_entropy(make_model, batch, label_smoothing):
    model = make_model(label_smoothing=label_smoothing)
    logits = model(batch)
    loss = model.compute_loss(x=batch, y_pred=logits)
    np.testing.assert_allclose(float(loss), reference_loss(batch, logits, label_smoothing), rtol=1e-5)


def test_loss_weights_examples(make_model, batch):
    model = make_model()
    logits = model(batch)
    weights = np.array([1.0, 0.0, 2.0, 1.0, 0.5], "float32")
    loss = model.compute_loss(x=batch, y_pred=logits, sample_weight=weights)
    np.testing.assert_allclose(float(loss), reference_loss(batch, logits, sample_weight=weights), rtol=1e-5)


def test_token_accuracy_ignores_pad(make_model, batch):
    model = make_model()
    labels = batch["target"][:, 1:]
    # Right on every real label, wrong on every PAD position.
    logits = np.eye(VOCABULARY, dtype="float32")[np.where(labels == 0, 5, labels)]
    model.compute_metrics(batch, None, logits)
    assert float(model.token_accuracy.result()) == pytest.approx(1.0)


def test_fit_on_a_dataset_of_input_dicts(model_families, batch):
    # One family suffices here: the loss and metric live in the shared base
    # class, and test_training fits both families the same way.
    def make_model(**kwargs):
        model = model_families["recurrent"](**kwargs)
        model.build()
        return model

    model = make_model(dropout=0.0)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False)  # XLA would only slow a tiny test
    dataset = tf.data.Dataset.from_tensor_slices(batch).batch(5).repeat(6)
    history = model.fit(dataset, epochs=1, verbose=0).history
    assert set(history) == {"loss", "token_accuracy"}
    before = reference_loss(batch, make_model(dropout=0.0)(batch))
    assert history["loss"][0] < before  # 6 steps on one batch lower its loss


def test_a_compiled_loss_is_refused(make_model, batch):
    model = make_model()
    model.compile("adam", loss="mse")
    with pytest.raises(ValueError, match="compile it without `loss`"):
        model.compute_loss(x=batch, y_pred=model(batch))


def test_separate_targets_are_refused(make_model, batch):
    model = make_model()
    with pytest.raises(ValueError, match="feed the input dict alone"):
        model.compute_loss(x=batch, y=batch["target"], y_pred=model(batch))


def test_inputs_must_be_the_source_target_dict(make_model, batch):
    with pytest.raises(ValueError, match=r"Received: \['source'\]"):
        make_model()({"source": batch["source"]})


def test_cross_attention_is_a_distribution_over_real_source_tokens(make_model, batch):
    scores = keras.ops.convert_to_numpy(make_model().cross_attention(batch["source"], batch["target"][:, :-1]))
    assert scores.shape == (5, TARGET_LENGTH, 6) and scores.dtype == np.float32
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-5)
    padded = np.broadcast_to((batch["source"] == 0)[:, None, :], scores.shape)
    assert np.all(scores[padded] < 1e-6)


def test_config_round_trip(make_model):
    model = make_model(dropout=0.2, label_smoothing=0.1)
    config = model.get_config()
    assert type(model).from_config(config).get_config() == config


def test_save_and_load_give_identical_logits_and_decoding(make_model, batch, tmp_path):
    model = make_model()
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(reloaded(batch), model(batch), atol=1e-6)
    original, restored = Decoder(model).beam(batch["source"], beam_width=2), Decoder(reloaded).beam(batch["source"], beam_width=2)
    np.testing.assert_array_equal(restored.ids, original.ids)
    np.testing.assert_allclose(restored.scores, original.scores, atol=1e-5)


def test_runs_under_mixed_precision(make_model, batch):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = make_model()
        logits = model(batch)
        assert keras.backend.standardize_dtype(logits.dtype) == "float16"
        assert np.isfinite(float(model.compute_loss(x=batch, y_pred=logits)))
        result = Decoder(model).greedy(batch["source"])
        assert result.ids.shape == (5, TARGET_LENGTH) and np.all(np.isfinite(result.scores))
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: TransformerSeq2Seq(20, 20, 6, 7, dim=10, num_heads=4), "Received: dim=10, num_heads=4"),
        (lambda: TransformerSeq2Seq(20, 20, 0, 7), "Received: source_length=0"),
        (lambda: RecurrentSeq2Seq(20, 20, 6, 7, attention="bahdanau"), "Received: attention='bahdanau'"),
        (lambda: RecurrentSeq2Seq(20, 20, 6, 7, label_smoothing=1.0), "Received: label_smoothing=1.0"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
