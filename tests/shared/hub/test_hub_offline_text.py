"""The committed offline text backbone (`dlsuite/wordnet-gloss-64`), its WordNet reader and building one."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from shared.cli.main import main
from shared.data import wordnet
from shared.errors import ConfigError, DataError
from shared.hub import HubBackbone, handles
from shared.hub.offline import METADATA_FILE, build_backbone, get_recipe
from shared.hub.offline_text import LICENSE_FILE, VOCABULARY_FILE, TextBackboneRecipe
from shared.hub.registry import HUB_MODELS

NAME = "dlsuite/wordnet-gloss-64"
COMMITTED = handles.LOCAL_HUB_DIR / "wordnet-gloss-64"
SENTENCES = ["An excellent, moving film.", "I didn't like it", "", "naïve café", "日本語のテキスト", "!!!"]
# The committed build measured recall@10 = 0.391 (lemma -> its definition among 1,000 held-out
# definitions; chance 0.01, the random-weight twin 0.093) in 5 epochs, about 2-3 min on 2 CPU cores.
MIN_RECALL_AT_10 = 0.35

needs_wordnet = pytest.mark.skipif(
    not (wordnet.WORDNET_DIR / "data.noun").is_file(), reason="WordNet is not installed (make system-deps); CI installs it"
)


def test_committed_text_backbone_loads_with_hub_and_hubbackbone():
    by_hub = hub.load(str(COMMITTED))(tf.constant(SENTENCES), training=False).numpy()
    by_layer = np.asarray(HubBackbone(NAME)(tf.constant(SENTENCES)))
    assert by_hub.shape == by_layer.shape == (len(SENTENCES), 64) and by_layer.dtype == np.float32
    np.testing.assert_allclose(by_layer, by_hub, atol=1e-6)
    assert np.isfinite(by_layer).all()
    np.testing.assert_array_equal(by_layer[2], by_layer[5])  # no words at all: one constant vector, not NaN
    metadata = json.loads((COMMITTED / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["fingerprint"] == handles.fingerprint(COMMITTED)
    assert metadata["output"]["feature_dim"] == HUB_MODELS.get(NAME).output_dim == 64
    pretraining = metadata["pretraining"]
    assert pretraining["synsets"] > 100_000 and pretraining["heldout_synsets"] > 2000
    figures = pretraining["heldout_retrieval"]["lemma_to_definition"]
    assert figures["pool"] == 1000 and figures["recall_at_10"] > MIN_RECALL_AT_10
    assert figures["recall_at_10"] > 3 * pretraining["heldout_retrieval_untrained"]["lemma_to_definition"]["recall_at_10"]
    assert {"excellent", "awful"} <= set(pretraining["nearest_neighbours"]["words"])


def test_committed_text_backbone_ships_its_vocabulary_and_the_wordnet_license():
    vocabulary = (COMMITTED / "assets" / VOCABULARY_FILE).read_text(encoding="utf-8").split("\n")[:-1]
    assert len(vocabulary) == len(set(vocabulary)) == 30_000 and "excellent" in vocabulary
    assert vocabulary[:5] == ["the", "a", "of", "or", "in"]  # by frequency in the training glosses
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in (COMMITTED / "assets" / LICENSE_FILE).read_text()
    loaded = hub.load(str(COMMITTED))
    assert [v.shape for v in loaded.trainable_variables] == [(31_000, 64), (64, 64), (64,)]


def test_neighbours_and_sentences_make_sense():
    encode = hub.load(str(COMMITTED))

    def similarity(a, b):
        x = tf.math.l2_normalize(encode(tf.constant([a, b])), axis=-1).numpy()
        return float(x[0] @ x[1])

    assert similarity("excellent", "superb") > similarity("excellent", "awful")
    assert similarity("a wonderful movie", "a great film") > similarity("a wonderful movie", "a terrible film")
    assert similarity("naïve café", "naïve café") == pytest.approx(1.0)
    assert similarity("naïve", "naive") < 0.99  # accented letters stay in the word, so this is another word


def test_text_recipe_matches_its_record():
    recipe = get_recipe("wordnet-gloss-64")
    assert isinstance(recipe, TextBackboneRecipe) and recipe.name == NAME
    record = HUB_MODELS.get(NAME)
    assert (record.task, record.output_dim, record.input.dtype) == ("text", recipe.feature_dim, "string")
    for real in ("nnlm_en_dim50", "nnlm_en_dim128", "universal_sentence_encoder"):
        assert HUB_MODELS.get(real).offline == NAME
    assert HUB_MODELS.get("bert_en_uncased_L-12_H-768_A-12").offline is None  # takes token ids, not sentences


def test_string_input_model_fine_tunes_saves_and_reloads_in_safe_mode(tmp_path):
    inputs = keras.Input((), dtype="string")
    backbone = HubBackbone(NAME, trainable=True)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(backbone(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    embeddings = next(w for w in backbone.weights if w.shape == (31_000, 64))
    assert embeddings.trainable and len(backbone.trainable_weights) == 3
    before = embeddings.numpy().copy()
    model.fit(tf.constant(["a superb film", "an awful film"]), np.array([1, 0]), epochs=1, batch_size=2, verbose=0)
    changed = np.flatnonzero(np.abs(embeddings.numpy() - before).max(axis=1))
    assert 0 < len(changed) <= 5  # only the rows of the five words seen (a, an, superb, awful, film)
    path = tmp_path / "sentiment.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    probe = tf.constant(SENTENCES + [b"\xff\xfe broken bytes"])
    np.testing.assert_array_equal(np.asarray(reloaded(probe)), np.asarray(model(probe)))


def test_frozen_text_backbone_keeps_its_weights():
    inputs = keras.Input((), dtype="string")
    backbone = HubBackbone(NAME)
    model = keras.Model(inputs, keras.layers.Dense(2)(backbone(inputs)))
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.numpy().copy() for w in backbone.weights]
    model.fit(tf.constant(["good", "bad"]), np.array([1, 0]), epochs=1, verbose=0)
    assert backbone.trainable_weights == [] and all(np.array_equal(b, w.numpy()) for b, w in zip(before, backbone.weights))



# --- the random-weight twin (a transfer run's from-scratch comparison) -------------


def test_random_weight_twin_is_the_backbone_architecture_with_fresh_weights():
    from shared.hub.offline import build_feature_extractor

    keras.utils.set_random_seed(3)
    twin = build_feature_extractor(get_recipe(NAME))  # what shared.training.scratch_twin builds
    loaded = hub.load(str(COMMITTED))
    assert [tuple(w.shape) for w in twin.trainable_weights] == [tuple(v.shape) for v in loaded.trainable_variables]
    assert all(not np.allclose(w.numpy(), v.numpy()) for w, v in zip(twin.trainable_weights[:2], loaded.trainable_variables[:2]))
    ids = twin.get_layer("word_embeddings").lookup_table.lookup(tf.constant(["the", "excellent", "zzqxw"])).numpy()
    vocabulary = (COMMITTED / "assets" / VOCABULARY_FILE).read_text(encoding="utf-8").split("\n")
    assert ids[0] == 0 and ids[1] == vocabulary.index("excellent") and ids[2] >= 30_000  # the backbone's own vocabulary
    probe = tf.constant(SENTENCES)
    random_features = np.asarray(twin(probe))
    assert random_features.shape == (len(SENTENCES), 64) and np.isfinite(random_features).all()
    for weight, variable in zip(twin.weights, loaded.variables):  # with the pretrained weights it IS the backbone
        weight.assign(variable)
    np.testing.assert_allclose(np.asarray(twin(probe)), loaded(probe, training=False).numpy(), atol=1e-6)


def test_random_weight_twin_trains_like_the_transfer_model():
    from shared.hub.offline import build_feature_extractor

    keras.utils.set_random_seed(0)
    extractor = build_feature_extractor(get_recipe(NAME))
    text = keras.Input((), dtype="string")
    model = keras.Model(text, keras.layers.Dense(2)(extractor(text)))  # as domains.language.models.build_scratch_twin
    embeddings = extractor.get_layer("word_embeddings").embeddings
    with tf.GradientTape() as tape:
        logits = model(tf.constant(["a superb film", "an awful film"]), training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(tf.constant([1, 0]), logits, from_logits=True))
    gradient = tf.convert_to_tensor(tape.gradient(loss, embeddings.value)).numpy()
    assert np.count_nonzero(np.abs(gradient).max(axis=1)) == 5  # the rows of a, an, superb, awful, film


def test_twin_of_an_unbuilt_backbone_says_how_to_build_it(monkeypatch, tmp_path):
    from shared.hub import offline

    monkeypatch.setattr(offline, "default_dir", lambda recipe: tmp_path / "wordnet-gloss-64")
    with pytest.raises(handles.HubError, match=r"dlsuite/wordnet-gloss-64 is not built yet .*run `dlsuite hub build dlsuite/wordnet-gloss-64`"):
        offline.build_feature_extractor(get_recipe(NAME))


# --- the pretraining pairs -----------------------------------------------------------


def test_training_pairs_cover_definitions_examples_synonyms_and_similar_to():
    from shared.hub.offline_text import training_pairs

    head = wordnet.Synset(100, "a", ("good",), "having desirable qualities", ("a good film",))
    satellite = wordnet.Synset(200, "s", ("superb", "splendid"), "of surpassing excellence", (), (("&", ("adj", 100)),))
    orphan = wordnet.Synset(300, "s", ("handy",), "easy to reach", (), (("&", ("adj", 999)),))  # its head is held out
    noun = wordnet.Synset(100, "n", ("film", "movie", "picture"), "a form of entertainment", ())
    anchors, positives, counts = training_pairs([head, satellite, orphan, noun])
    pairs = list(zip(anchors.tolist(), positives.tolist()))
    assert counts == {"lemma_definition": 7, "example_definition": 1, "synonyms": 4, "similar_to": 2}
    assert ("a good film", "having desirable qualities") in pairs and ("superb", "good") in pairs and ("splendid", "good") in pairs
    assert [p for p in pairs if p[0] in ("film", "movie", "picture") and p[1] in ("film", "movie", "picture")] == [
        ("film", "movie"), ("movie", "picture"), ("picture", "film")
    ]
    assert ("superb", "splendid") in pairs and not any(p[1] == "handy" or p == ("handy", "good") for p in pairs)


# --- the WordNet reader ---------------------------------------------------------

LICENSE_LINES = (
    "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    "  2 Princeton University under the following license.  \n"
    "  3   \n"
    "  4 WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.  \n"
)
FIXTURE = {
    "data.noun": "00002137 03 n 02 Abstraction 0 abstract_entity 0 001 ~ 00023280 n 0000 | a general concept formed by "
    "extracting common features from specific examples  \n",
    "data.verb": "00001740 29 v 02 breathe 0 take_a_breath 0 001 @ 00002325 v 0000 02 + 02 00 + 08 00 | draw air into, "
    'and expel out of, the lungs; "I can breathe better when the air is clean"; "The patient is respiring"  \n',
    "data.adj": "00001740 00 a 01 able 0 001 ! 00002098 a 0101 | (usually followed by `to') having the necessary means; "
    '"able to swim"  \n'
    "00019731 00 s 02 handy 0 ready_to_hand(p) 0 001 & 00019131 a 0000 | easy to reach; "
    '"found a handy spot for the can opener"  \n',
    "data.adv": "00099712 02 r 01 a_cappella 0 000 | without musical accompaniment  \n",
}


@pytest.fixture
def wordnet_dir(tmp_path):
    folder = tmp_path / "dict"
    folder.mkdir()
    for name, lines in FIXTURE.items():
        (folder / name).write_text(LICENSE_LINES + lines, encoding="utf-8")
    return folder


def test_wordnet_parser_reads_the_wndb_format(wordnet_dir):
    synsets = wordnet.load_synsets(wordnet_dir)
    assert [s.id for s in synsets] == ["n00002137", "v00001740", "a00001740", "s00019731", "r00099712"]
    noun, verb, adj, satellite, adv = synsets
    assert noun.lemmas == ("abstraction", "abstract entity") and noun.examples == ()
    assert noun.definition == "a general concept formed by extracting common features from specific examples"
    assert verb.lemmas == ("breathe", "take a breath") and verb.definition == "draw air into, and expel out of, the lungs"
    assert verb.examples == ("I can breathe better when the air is clean", "The patient is respiring")
    assert adj.definition == "(usually followed by `to') having the necessary means" and adj.examples == ("able to swim",)
    assert satellite.lemmas == ("handy", "ready to hand") and satellite.part_of_speech == "adj"
    assert adv.lemmas == ("a cappella",) and adv.part_of_speech == "adv"
    assert [s.id for s in wordnet.load_synsets(wordnet_dir, parts=("adv",))] == ["r00099712"]
    assert wordnet.license_notice(wordnet_dir).splitlines()[-1] == "WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved."


def test_wordnet_errors_are_one_line(wordnet_dir, tmp_path):
    with pytest.raises(DataError, match=r"WordNet not found: .* has no data.noun, data.verb, data.adj, data.adv; install it with `apt-get install wordnet-base`"):
        wordnet.load_synsets(tmp_path / "nowhere")
    with pytest.raises(DataError, match="unknown WordNet part of speech 'adverb'; choose from noun, verb, adj, adv"):
        wordnet.load_synsets(wordnet_dir, parts=("adverb",))
    (wordnet_dir / "data.adv").write_text(LICENSE_LINES + "00099712 02 r zz a_cappella 0 000 | broken\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.adv:5: not a WordNet data line"):
        wordnet.load_synsets(wordnet_dir)
    (wordnet_dir / "data.adv").write_bytes(b"00099712 02 r 01 caf\xe9 0 000 | latin-1\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        wordnet.load_synsets(wordnet_dir)


def test_build_without_wordnet_says_what_to_install(tmp_path, capsys):
    with pytest.raises(DataError, match="apt-get install wordnet-base"):
        build_backbone("wordnet-gloss-64", out_dir=tmp_path / "x", data_dir=tmp_path / "nowhere")
    assert not (tmp_path / "x").exists()
    capsys.readouterr()
    code = main(["hub", "build", "wordnet-gloss-64", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("dlsuite: error: WordNet not found: ") and "`apt-get install wordnet-base`" in err[-1]
    assert sum(line.startswith("dlsuite: error:") for line in err) == 1 and not (tmp_path / "x").exists()


def test_a_limit_that_leaves_nothing_to_train_on_is_refused(wordnet_dir, tmp_path):
    with pytest.raises(ConfigError, match="limit=2 leaves no WordNet synsets to train on"):
        build_backbone("wordnet-gloss-64", out_dir=tmp_path / "x", limit=2, data_dir=wordnet_dir)


def test_cli_builds_from_a_wordnet_folder(wordnet_dir, tmp_path, capsys):
    out_dir = tmp_path / "gloss"
    code = main(["hub", "build", "wordnet-gloss-64", "--data", str(wordnet_dir), "--out", str(out_dir), "--epochs", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"built dlsuite/wordnet-gloss-64: {out_dir} (held-out lemma -> definition among 1: recall@1 1.000" in out
    assert "[1/6] read the WordNet 3.0 glosses" in err and "[6/6] verify with tensorflow_hub.load and HubBackbone: done" in err
    assert "random-weight twin" in err and "chance at 10" in err
    metadata = json.loads((out_dir / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["fingerprint"] == handles.fingerprint(out_dir) and metadata["pretraining"]["files"][0] == str(wordnet_dir / "data.noun")
    assert (metadata["pretraining"]["synsets"], metadata["pretraining"]["heldout_synsets"]) == (5, 1)
    vocabulary = (out_dir / "assets" / VOCABULARY_FILE).read_text(encoding="utf-8").split()
    assert "lungs" in vocabulary and len(vocabulary) == metadata["pretraining"]["vocabulary"]["size"] < 60
    assert (out_dir / "assets" / LICENSE_FILE).read_text().startswith("This software and database is being provided")


@needs_wordnet
def test_build_a_tiny_text_backbone_deterministically(tmp_path):
    results = [build_backbone("wordnet-gloss-64", out_dir=tmp_path / f"gloss{i}", epochs=1, limit=400, verbose=0) for i in (1, 2)]
    metadata = json.loads((tmp_path / "gloss1" / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata == results[0].metadata and metadata["pretraining"]["epochs"] == 1
    assert metadata["pretraining"]["train_synsets"] + metadata["pretraining"]["heldout_synsets"] == 400
    assert metadata["fingerprint"] == handles.fingerprint(tmp_path / "gloss1")
    # Fixed seeds: the same vocabulary and weights, bit for bit. (Only saved_model.pb differs within one process,
    # by the traced functions' numbered names; two `dlsuite hub build` processes write identical files.)
    for name in ("variables/variables.index", "variables/variables.data-00000-of-00001", f"assets/{VOCABULARY_FILE}"):
        assert (tmp_path / "gloss1" / name).read_bytes() == (tmp_path / "gloss2" / name).read_bytes(), name
    assert results[0].summary.startswith("held-out lemma -> definition among 8: recall@1 ")
    features = np.asarray(HubBackbone(str(tmp_path / "gloss1"))(tf.constant(["a tiny test", ""])))
    assert features.shape == (2, 64) and np.isfinite(features).all()


@needs_wordnet
def test_the_objective_generalizes_to_held_out_synsets(tmp_path):
    """One epoch on 15,000 synsets already beats the random-weight twin on the 300 held-out ones.

    Measured here: recall@10 0.180 against the twin's 0.107 (pool 300, chance 0.033), recall@1 0.073
    against 0.043. A broken objective (labels off the diagonal, a sign flip, a gradient that never
    reaches the embeddings) leaves the trained encoder at or below the twin.
    """
    import dataclasses

    from shared.hub.offline_text import build_text_backbone
    from shared.progress import Stages

    recipe = dataclasses.replace(get_recipe(NAME), vocabulary_size=8000, oov_buckets=64, batch_size=128)
    metadata = build_text_backbone(recipe, tmp_path / "gloss", 1, 15_000, None, Stages(6), 0)
    trained = metadata["pretraining"]["heldout_retrieval"]["lemma_to_definition"]
    twin = metadata["pretraining"]["heldout_retrieval_untrained"]["lemma_to_definition"]
    assert trained["pool"] == twin["pool"] == 300
    assert trained["recall_at_10"] > twin["recall_at_10"] + 0.04, (trained, twin)
    assert trained["recall_at_1"] > twin["recall_at_1"], (trained, twin)
