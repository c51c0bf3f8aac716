"""Text in general form, for every language domain: standardizing, subword vocabularies, readers.

- `standardize`, `standardize_all` (`shared.text.standardize`): NFKC, HTML
  entities and tags out, control characters out, white space collapsed,
  optional lowercasing; documented step by step.
- `SubwordVocabulary`, `Encoded` (`shared.text.tokenizers`): WordPiece or
  SentencePiece vocabularies trained on a training split with keras-hub,
  with the same ids in NumPy and in `tf.data`; saved as one file and
  loaded back as untrusted input.
- `read_labelled_texts`, `read_class_folders`, `read_sentence_pairs`,
  `check_language` (`shared.text.readers`): labelled CSV/TSV files, class
  folders (the aclImdb layout), `source<TAB>target` pair files and ISO 639
  language codes.

Every problem in a file a user hands over is one `shared.errors.DataError`
line naming the file, the line and what to fix. Names are imported on first
use, so that reading a file does not import TensorFlow. `standardize` is
imported at once: the function shares its module's name, and binding it here
keeps `shared.text.standardize` the function.
"""

import importlib

from shared.text.standardize import standardize as standardize
from shared.text.standardize import standardize_all as standardize_all

_MODULES = {
    "BOS": "tokenizers",
    "BOS_ID": "tokenizers",
    "EOS": "tokenizers",
    "EOS_ID": "tokenizers",
    "KINDS": "tokenizers",
    "MAX_VOCABULARY_BYTES": "tokenizers",
    "PAD": "tokenizers",
    "PAD_ID": "tokenizers",
    "SPECIAL_TOKENS": "tokenizers",
    "UNK": "tokenizers",
    "UNK_ID": "tokenizers",
    "VOCABULARY_KINDS": "tokenizers",
    "Encoded": "tokenizers",
    "SubwordVocabulary": "tokenizers",
    "Language": "readers",
    "LabelledTexts": "readers",
    "SentencePairs": "readers",
    "check_language": "readers",
    "read_class_folders": "readers",
    "read_labelled_texts": "readers",
    "read_sentence_pairs": "readers",
}


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"shared.text.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shared.text' has no attribute {name!r}")


__all__ = sorted([*_MODULES, "standardize", "standardize_all"])
