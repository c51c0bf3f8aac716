"""CTC sequence recognition: a character vocabulary, a CTC-trained model and decoders.

- `CharVocabulary` (`shared.ctc.vocabulary`): transcripts to label ids and
  back, with id 0 reserved for the CTC blank; plain data, saved with a run.
- `CTCModel` (`shared.ctc.model`): a functional model whose outputs are
  per-frame logits and whose `compute_loss` is the CTC loss, so `fit`,
  `evaluate` and `tf.distribute` work unchanged; `ctc_losses` gives the
  per-example loss.
- `ctc_greedy_decode`, `ctc_beam_decode` and `decode_texts`
  (`shared.ctc.decoding`): logits to label ids or strings.

Names are imported on first use, so that a data pipeline reading
transcripts with `CharVocabulary` does not import Keras or TensorFlow.
`CTCModel` is registered as `dlsuite>CTCModel` once `shared.ctc.model` is
imported (accessing `shared.ctc.CTCModel` does it); import it before
`keras.saving.load_model` reads a `.keras` file that holds one.
"""

import importlib

_MODULES = {
    "BLANK": "vocabulary",
    "DEFAULT_KEEP": "vocabulary",
    "UNKNOWN_CHARACTERS": "vocabulary",
    "CharVocabulary": "vocabulary",
    "LABELS": "model",
    "LOGIT_LENGTH": "model",
    "CTCModel": "model",
    "ctc_losses": "model",
    "DECODING_METHODS": "decoding",
    "ctc_beam_decode": "decoding",
    "ctc_greedy_decode": "decoding",
    "decode_texts": "decoding",
}


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"shared.ctc.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shared.ctc' has no attribute {name!r}")


__all__ = sorted(_MODULES)
