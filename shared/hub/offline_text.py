"""The suite's own text backbone: a sentence encoder pretrained on WordNet's English glosses.

Offline, there is no NNLM or Universal Sentence Encoder to download.
`dlsuite hub build wordnet-gloss-64` reads WordNet 3.0 (Debian's
`wordnet-base`, `shared.data.wordnet`), about 117,000 synsets, each with its
lemmas, a definition and example sentences, and pretrains an NNLM-style
encoder on a definitional task. The SAME encoder reads both sides of each
pair, and a symmetric in-batch softmax (InfoNCE) pulls the pairs together
against the other pairs of the batch (`training_pairs`):

- a lemma and its definition, an example sentence and its definition,
  so a word's vector lands near the words that define it;
- the synonyms of a synset, and an adjective satellite and the head of its
  cluster (WordNet's "similar to": `superb` -> `good`), so near-synonyms
  are near each other directly.

It then exports the encoder, raw UTF-8 sentences in and a 64-d vector out,
as a TF2 reusable SavedModel under `data/hub/wordnet-gloss-64/`;
`HubBackbone("dlsuite/wordnet-gloss-64")` uses it as it would use NNLM from
tfhub.dev, frozen or fine-tuned. Only the glosses of the Debian package are
read: no reviews, translations or generated text.

The tokenizer, vocabulary table and sqrt-n combiner are inside the graph
(`shared.hub.bag_of_words`), in core TensorFlow ops only. Held-out synsets
(2%, left out of training and of the vocabulary count) measure what the
encoder learned: each held-out lemma must find its own definition among a
pool of 1,000 held-out definitions (recall@1, recall@10), and so must each
held-out example sentence. The same figures for the same architecture with
random weights, the twin a transfer run's from-scratch comparison starts
from (`build_text_extractor` without a vocabulary file, the built
backbone's vocabulary), are recorded beside them.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.runs import atomic_path, now, versions

VOCABULARY_FILE = "tokens.txt"
LICENSE_FILE = "WORDNET_LICENSE.txt"
# Words whose nearest neighbours the build records: sentiment words, then neutral ones.
NEIGHBOUR_WORDS = ("excellent", "awful", "good", "bad", "happy", "boring", "funny", "movie", "car", "doctor")
NEIGHBOURS = 8
# Sentences the build checks the export with: punctuation, negation, non-ASCII, empty.
CHECK_SENTENCES = ("A superb, moving film.", "I didn't like it at all", "naïve café", "", "the the the", "日本語")


@dataclass(frozen=True)
class TextBackboneRecipe:
    """How to pretrain one offline text backbone.

    Args:
        name: str. Registry name in `HUB_MODELS` (`"dlsuite/..."`).
        vocabulary_size: int. Most frequent words of the training glosses and
            lemmas that get their own embedding row.
        oov_buckets: int. Hash buckets shared by every other word.
        dim: int. Embedding and output size.
        epochs: int. Default pretraining epochs; one epoch visits every
            (lemma, definition) and (example, definition) pair once.
        batch_size: int. Pairs per step; the other pairs of a batch are the
            negatives of the in-batch softmax.
        learning_rate: float. Peak Adam learning rate (cosine decay to 0).
        temperature: float. Softmax temperature on cosine similarities.
        heldout_fraction: float. Synsets kept out of training (and out of the
            vocabulary count) for the retrieval figures.
        retrieval_pool: int. Held-out definitions each held-out query is
            ranked against.
        seed: int. Seed for the split, the weights and the shuffling.
    """

    name: str
    vocabulary_size: int = 30_000
    oov_buckets: int = 1_000
    dim: int = 64
    epochs: int = 5
    batch_size: int = 512
    learning_rate: float = 5e-3
    temperature: float = 0.1
    heldout_fraction: float = 0.02
    retrieval_pool: int = 1_000
    seed: int = 0
    dataset: str = "wordnet_glosses"

    @property
    def feature_dim(self) -> int:
        return self.dim


def sentence_spec():
    import tensorflow as tf

    return tf.TensorSpec([None], tf.string, name="sentences")


def build_text_extractor(recipe: TextBackboneRecipe, vocabulary_file: str | Path | None = None):
    """The backbone: `(batch,)` UTF-8 strings -> `(batch, dim)`.

    Args:
        recipe: TextBackboneRecipe.
        vocabulary_file: str, Path or None. One word per line. Defaults to
            the committed backbone's own `assets/tokens.txt`, so an untrained
            twin has the same vocabulary.
    """
    import keras

    from shared.hub.bag_of_words import BagOfWordsEmbedding

    if vocabulary_file is None:
        from shared.hub.handles import HubError
        from shared.hub.offline import default_dir

        vocabulary_file = default_dir(recipe) / "assets" / VOCABULARY_FILE
        if not vocabulary_file.is_file():
            raise HubError(
                f"{recipe.name} is not built yet ({vocabulary_file} is missing; its random-weight twin reuses the built "
                f"backbone's vocabulary); run `dlsuite hub build {recipe.name}`"
            )
    sentences = keras.Input((), dtype="string", name="sentences")
    x = BagOfWordsEmbedding(str(vocabulary_file), recipe.oov_buckets, recipe.dim, name="word_embeddings")(sentences)
    features = keras.layers.Dense(recipe.dim, activation="tanh", name="projection")(x)
    return keras.Model(sentences, features, name=recipe.name.replace("/", "_").replace("-", "_"))


def split_synsets(synsets: list, recipe: TextBackboneRecipe, limit: int | None = None) -> tuple[list, list]:
    """A seeded shuffle of `synsets` (the first `limit` of it), split into `(train, heldout)`."""
    from shared.errors import ConfigError

    order = np.random.default_rng(recipe.seed).permutation(len(synsets))
    if limit:
        order = order[:limit]
    held = max(1, round(len(order) * recipe.heldout_fraction))
    if len(order) - held < 2:
        raise ConfigError(f"limit={limit} leaves no WordNet synsets to train on; use at least 100")
    return [synsets[i] for i in order[held:]], [synsets[i] for i in order[:held]]


def training_pairs(synsets: list) -> tuple[np.ndarray, np.ndarray, dict]:
    """`(anchors, positives, counts)`: the views of each synset, one pair each.

    - every lemma with the definition;
    - every example sentence with the definition;
    - every lemma with the next lemma of the synset (a ring: `a-b`, `b-c`,
      `c-a`): synonyms should also be near each other directly;
    - every lemma of an adjective satellite with the head of its cluster
      (WordNet's "similar to": `superb` -> `good`, `atrocious` -> `bad`),
      when both are in `synsets`; this is what orders adjectives by polarity.
    """
    from shared.data.wordnet import SIMILAR_TO

    anchors, positives = [], []
    counts = {"lemma_definition": 0, "example_definition": 0, "synonyms": 0, "similar_to": 0}
    by_key = {synset.key: synset for synset in synsets}

    def add(anchor, positive, kind):
        anchors.append(anchor)
        positives.append(positive)
        counts[kind] += 1

    for synset in synsets:
        lemmas = synset.lemmas
        for lemma in lemmas:
            add(lemma, synset.definition, "lemma_definition")
        for example in synset.examples:
            add(example, synset.definition, "example_definition")
        for i in range(len(lemmas) if len(lemmas) > 2 else len(lemmas) - 1):
            add(lemmas[i], lemmas[(i + 1) % len(lemmas)], "synonyms")
        if synset.pos == "s":
            for head in (by_key.get(key) for symbol, key in synset.pointers if symbol == SIMILAR_TO):
                for lemma in lemmas if head is not None else ():
                    add(lemma, head.lemmas[0], "similar_to")
    return np.array(anchors, dtype=object), np.array(positives, dtype=object), counts


def count_words(texts, chunk: int = 8192) -> Counter:
    """Word counts over `texts`, tokenized by the encoder's own `split_words`."""
    import tensorflow as tf

    from shared.hub.bag_of_words import split_words

    counts: Counter = Counter()
    for start in range(0, len(texts), chunk):
        counts.update(split_words(tf.constant(list(texts[start : start + chunk]))).flat_values.numpy().tolist())
    return counts


def build_vocabulary(synsets: list, size: int) -> tuple[list[str], float]:
    """The `size` most frequent words of the lemmas, definitions and examples (ties alphabetical), and their token coverage."""
    texts = [t for s in synsets for t in (*s.lemmas, s.definition, *s.examples)]
    counts = count_words(texts)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
    coverage = sum(c for _, c in ranked) / max(sum(counts.values()), 1)
    return [word.decode("utf-8") for word, _ in ranked], coverage


def encode(extractor, texts, batch_size: int = 2048) -> np.ndarray:
    """L2-normalized features of `texts`."""
    import tensorflow as tf

    parts = [np.asarray(extractor(tf.constant(list(texts[i : i + batch_size])), training=False)) for i in range(0, len(texts), batch_size)]
    features = np.concatenate(parts) if parts else np.zeros((0, extractor.output_shape[-1]), np.float32)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def retrieval_recall(extractor, queries, targets, ks=(1, 10)) -> dict:
    """Query `i` should retrieve target `i` among all targets: `{"recall_at_k": ...}` by cosine similarity."""
    similarity = encode(extractor, queries) @ encode(extractor, targets).T
    rank = (similarity > np.diag(similarity)[:, None]).sum(axis=1)  # targets scored above the right one
    return {f"recall_at_{k}": round(float(np.mean(rank < k)), 4) for k in ks} | {"pool": len(targets)}


def heldout_retrieval(extractor, heldout: list, pool: int) -> dict:
    """Held-out lemma -> its definition, and held-out example sentence -> its definition."""
    lemmas = heldout[:pool]
    examples = [s for s in heldout if s.examples][:pool]
    figures = {"lemma_to_definition": retrieval_recall(extractor, [s.lemmas[0] for s in lemmas], [s.definition for s in lemmas])}
    if examples:
        figures["example_to_definition"] = retrieval_recall(extractor, [s.examples[0] for s in examples], [s.definition for s in examples])
    return figures


def nearest_words(extractor, vocabulary: list[str], words=NEIGHBOUR_WORDS, k: int = NEIGHBOURS) -> dict:
    """Each of `words` (those in the vocabulary) -> its `k` nearest vocabulary words by cosine similarity."""
    known = [w for w in words if w in set(vocabulary)]
    if not known:
        return {}
    similarity = encode(extractor, known) @ encode(extractor, vocabulary).T
    return {
        word: [vocabulary[j] for j in np.argsort(-row, kind="stable") if vocabulary[j] != word][:k]
        for word, row in zip(known, similarity)
    }


def contrastive_model(extractor, temperature: float):
    """`(anchors, definitions)` -> `(batch, batch)` logits: cosine similarities over `temperature`."""
    import keras
    from keras import ops

    anchors = keras.Input((), dtype="string", name="anchors")
    definitions = keras.Input((), dtype="string", name="definitions")
    a = ops.normalize(extractor(anchors), axis=-1)
    b = ops.normalize(extractor(definitions), axis=-1)
    return keras.Model([anchors, definitions], ops.matmul(a, ops.transpose(b)) / temperature, name="definition_contrast")


def in_batch_softmax_loss(_, logits):
    """Symmetric InfoNCE: row `i` and column `i` must both pick pair `i` (the labels are unused)."""
    from keras import ops

    labels = ops.arange(ops.shape(logits)[0])
    forward = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    backward = ops.sparse_categorical_crossentropy(labels, ops.transpose(logits), from_logits=True)
    return (forward + backward) / 2.0


def pair_dataset(anchors, definitions, batch_size: int, seed: int):
    """Shuffled `((anchors, definitions), dummy)` batches; full batches only, so every step has the same negatives count."""
    import tensorflow as tf

    from shared.data.pipeline import batched

    ds = tf.data.Dataset.from_tensor_slices(((anchors.astype(str), definitions.astype(str)), np.zeros(len(anchors), np.float32)))
    return batched(ds, batch_size, shuffle_buffer=len(anchors), seed=seed, drop_remainder=True)


def build_text_backbone(recipe: TextBackboneRecipe, out_dir: Path, epochs: int, limit: int | None, data_dir, stages, verbose) -> dict:
    """Pretrain `recipe` on WordNet glosses, export its encoder to `out_dir`; returns the metadata."""
    import keras
    import tensorflow as tf

    from shared.data import wordnet
    from shared.hub.handles import fingerprint
    from shared.hub.layer import HubBackbone
    from shared.hub.offline import METADATA_FILE, verify_export
    from shared.hub.saved_model import write_reusable
    from shared.training.engine import Trainer
    from shared.training.strategy import resolve_strategy

    start = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)
    with stages.stage("read the WordNet 3.0 glosses"):
        files = wordnet.data_files(data_dir)
        synsets = wordnet.load_synsets(data_dir)
        train, heldout = split_synsets(synsets, recipe, limit)
        anchors, definitions, pair_counts = training_pairs(train)
        stages.note(f"{len(synsets)} synsets: {len(train)} for training, {len(heldout)} held out; {len(anchors)} pairs")

    with tempfile.TemporaryDirectory(prefix="dlsuite_text_backbone_") as work:
        with stages.stage(f"count the {recipe.vocabulary_size} most frequent words"):
            vocabulary, coverage = build_vocabulary(train, recipe.vocabulary_size)
            vocabulary_file = Path(work) / VOCABULARY_FILE
            vocabulary_file.write_text("".join(f"{w}\n" for w in vocabulary), encoding="utf-8")
            license_file = Path(work) / LICENSE_FILE
            license_file.write_text(wordnet.license_notice(data_dir), encoding="utf-8")
            stages.note(f"{len(vocabulary)} words cover {coverage:.1%} of the training tokens")

        batch_size = min(recipe.batch_size, len(anchors))
        with stages.stage(f"pretrain {recipe.name} on {len(anchors)} pairs for {epochs} epoch(s)"):
            strategy = resolve_strategy("auto")
            with strategy.scope():
                extractor = build_text_extractor(recipe, vocabulary_file)
                untrained = heldout_retrieval(extractor, heldout, recipe.retrieval_pool)
                model = contrastive_model(extractor, recipe.temperature)
                steps = epochs * (len(anchors) // batch_size)
                model.compile(
                    optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(recipe.learning_rate, max(steps, 1))),
                    loss=in_batch_softmax_loss,
                )
            Trainer(strategy, epochs=epochs, verbose=verbose).fit(model, pair_dataset(anchors, definitions, batch_size, recipe.seed))

        with stages.stage(f"evaluate retrieval on {len(heldout)} held-out synsets and nearest neighbours"):
            retrieval = heldout_retrieval(extractor, heldout, recipe.retrieval_pool)
            neighbours = nearest_words(extractor, vocabulary)
            for task, figures in retrieval.items():
                twin = untrained[task]
                print(
                    f"held-out {task.replace('_to_', ' -> ').replace('_', ' ')} among {figures['pool']}: "
                    f"recall@1 {figures['recall_at_1']:.3f}, recall@10 {figures['recall_at_10']:.3f} "
                    f"(random-weight twin {twin['recall_at_1']:.3f}, {twin['recall_at_10']:.3f}; chance at 10 {min(1.0, 10 / figures['pool']):.3f})",
                    file=stages.stream,
                    flush=True,
                )

        with stages.stage(f"export the encoder to {out_dir}"):
            counts = {"synsets": len(synsets), "train_synsets": len(train), "heldout_synsets": len(heldout), **pair_counts}
            trained = {"epochs": epochs, "batch_size": batch_size, "steps": steps}
            metadata = _metadata(recipe, files, counts, trained, vocabulary, coverage, retrieval, untrained, neighbours, time.perf_counter() - start)
            table = extractor.get_layer("word_embeddings").lookup_table
            with atomic_path(out_dir) as tmp:
                write_reusable(extractor, tmp, sentence_spec(), resources=[table, tf.saved_model.Asset(str(license_file))])
                metadata["fingerprint"] = fingerprint(tmp)
                (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    with stages.stage("verify with tensorflow_hub.load and HubBackbone"):
        verify_export(out_dir, extractor, tf.constant(CHECK_SENTENCES), HubBackbone)
    return metadata


def retrieval_summary(metadata: dict) -> str:
    """`dlsuite hub build`'s one-line result: the held-out lemma -> definition recall, trained and random-weight twin."""
    figures = metadata["pretraining"]["heldout_retrieval"]["lemma_to_definition"]
    twin = metadata["pretraining"]["heldout_retrieval_untrained"]["lemma_to_definition"]
    return (
        f"held-out lemma -> definition among {figures['pool']}: recall@1 {figures['recall_at_1']:.3f}, "
        f"recall@10 {figures['recall_at_10']:.3f}; random-weight twin recall@10 {twin['recall_at_10']:.3f}"
    )


def _metadata(recipe, files, counts, trained, vocabulary, coverage, retrieval, untrained, neighbours, seconds) -> dict:
    import importlib.metadata as md

    from shared.data import wordnet
    from shared.hub.bag_of_words import NEGATION, POSSESSIVE, SEPARATORS
    from shared.hub.registry import HUB_MODELS

    spec = HUB_MODELS.get(recipe.name)
    return {
        "name": recipe.name,
        "format": "TF2 reusable SavedModel: obj(sentences, training=False), variables, trainable_variables, "
        "regularization_losses; signature serving_default -> {feature_vector}; assets: tokens.txt (vocabulary), "
        "WORDNET_LICENSE.txt",
        "usage": f"HubBackbone('{recipe.name}') or tensorflow_hub.load(<this directory>)",
        "input": {"shape": [], "dtype": "string", "value_range": None, "notes": spec.input.notes},
        "output": {"feature_dim": recipe.dim, "key": "feature_vector", "description": spec.output},
        "architecture": {
            "tokenizer": f"invalid UTF-8 replaced, Unicode lower-case, regex {NEGATION!r} -> ' not', {POSSESSIVE!r} dropped, "
            f"runs of {SEPARATORS!r} split words (tf.strings, core TensorFlow ops)",
            "layers": f"StaticVocabularyTable({len(vocabulary)} words + {recipe.oov_buckets} OOV hash buckets), "
            f"Embedding({len(vocabulary) + recipe.oov_buckets}, {recipe.dim}), sqrt-n combiner (sum / sqrt(words); "
            f"no words: zeros), Dense({recipe.dim}, tanh)",
            "empty_input": "a sentence without words gives tanh(projection bias), the same vector for every such input",
        },
        "pretraining": {
            "dataset": "WordNet 3.0 glosses (nouns, verbs, adjectives, adverbs)",
            "source": "Princeton WordNet 3.0, Debian package wordnet-base",
            "license": wordnet.LICENSE + "; copied into assets/WORDNET_LICENSE.txt",
            "files": [str(f) for f in files],
            **counts,
            "objective": "definitional contrastive task: symmetric in-batch softmax (InfoNCE) on cosine similarities, "
            "one shared encoder for (lemma, definition), (example sentence, definition), (synonym, synonym) and "
            "(adjective satellite, head of its cluster) pairs; the other pairs of a batch are the negatives",
            "temperature": recipe.temperature,
            "vocabulary": {"size": len(vocabulary), "oov_buckets": recipe.oov_buckets, "token_coverage": round(coverage, 4), "counted_on": "training synsets"},
            **trained,
            "optimizer": f"Adam, cosine decay from {recipe.learning_rate}",
            "seed": recipe.seed,
            "heldout_split": f"{recipe.heldout_fraction:.0%} of the synsets by a seeded shuffle, also left out of the vocabulary count",
            "heldout_retrieval": retrieval,
            "heldout_retrieval_untrained": untrained,
            "heldout_retrieval_notes": "query i (the first lemma, or the first example sentence, of held-out synset i) must "
            "rank definition i first (recall@1) or among the first 10 (recall@10) of the pool of held-out definitions, by "
            "cosine similarity; chance is k / pool. `heldout_retrieval_untrained`: the same architecture and vocabulary "
            "with random weights (seeded), the twin a transfer run's from-scratch comparison starts from",
            "nearest_neighbours": {"among": f"the {len(vocabulary)} vocabulary words, cosine similarity of the single-word encodings", "words": neighbours},
            "seconds": round(seconds, 1),
        },
        "intended_use": "offline stand-in for NNLM or the Universal Sentence Encoder: transfer learning for short English "
        "text classification (sentiment, topic) with few labels, where tfhub.dev cannot be reached",
        "limits": "a bag of words: word order is ignored; trained on dictionary definitions, so slang, names, "
        "domain jargon and non-English text mostly fall into the shared OOV buckets",
        "created": now(),
        "versions": {**versions(), "tensorflow-hub": md.version("tensorflow-hub")},
    }
