"""CTC decoding: per-frame logits to label ids or strings, greedy or by beam search.

These run eagerly on concrete arrays (evaluation, prediction), on top of
`keras.ops.ctc_decode` with id 0 as the blank. Results are plain Python
lists: blanks and repeats are removed, padding is gone.

Example:

```python
logits = model.predict(features)                          # (batch, frames, vocab.size)
decode_texts(vocab, logits, frames)                       # ['the cat', ...]
decode_texts(vocab, logits, frames, method="beam", beam_width=32)
```
"""

from __future__ import annotations

import numpy as np
from keras import ops

from shared.ctc.vocabulary import BLANK, CharVocabulary
from shared.layers.argument_checks import check_choice, check_positive_int


def _checked(logits, lengths):
    """`(logits, lengths)` as a float tensor `(batch, frames, classes)` and int32 `(batch,)`, or raise."""
    logits = ops.convert_to_tensor(logits)
    if len(logits.shape) != 3:
        raise ValueError(f"`logits` must have shape (batch, frames, vocab_size). Received: logits.shape={tuple(logits.shape)}")
    batch, frames = int(logits.shape[0]), int(logits.shape[1])
    if lengths is None:
        return logits, np.full((batch,), frames, dtype=np.int32)
    lengths = np.asarray(lengths).reshape(-1)
    if lengths.shape != (batch,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"`lengths` must hold one integer per example ({batch}). Received: lengths={lengths.tolist()!r}")
    if lengths.min(initial=0) < 0 or lengths.max(initial=0) > frames:
        raise ValueError(f"`lengths` must be in [0, {frames}] (the logit frames). Received: lengths={lengths.tolist()!r}")
    return logits, lengths.astype(np.int32)


def _id_lists(decoded) -> list[list[int]]:
    # `ctc_decode` pads each sequence with -1 after its last id.
    return [[i for i in row if i >= 0] for row in np.asarray(decoded).tolist()]


def ctc_greedy_decode(logits, lengths=None) -> list[list[int]]:
    """Best id per frame, then repeats merged and blanks removed.

    Args:
        logits: float array `(batch, frames, vocab_size)`. Per-frame logits
            (or log-probabilities), id 0 the blank.
        lengths: int array `(batch,)` or None. Valid frames per example;
            `None` means every frame. Defaults to `None`.

    Returns:
        One list of label ids per example.
    """
    logits, lengths = _checked(logits, lengths)
    decoded, _ = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=BLANK)
    return _id_lists(decoded[0])


def ctc_beam_decode(logits, lengths=None, beam_width: int = 16, top_paths: int = 1) -> list[list[list[int]]]:
    """The most probable label sequences by CTC prefix beam search.

    Unlike greedy decoding, the probability of a sequence sums over every
    frame alignment that yields it, so a sequence spread over many
    alignments can win over the single most probable path.

    Args:
        logits: float array `(batch, frames, vocab_size)`. Per-frame logits,
            id 0 the blank.
        lengths: int array `(batch,)` or None. Valid frames per example;
            `None` means every frame. Defaults to `None`.
        beam_width: int. Prefixes kept at each frame. Defaults to `16`.
        top_paths: int. Sequences returned per example, at most
            `beam_width`. Defaults to `1`.

    Returns:
        For each example, a list of `top_paths` label-id lists, most
        probable first.
    """
    beam_width = check_positive_int("beam_width", beam_width)
    top_paths = check_positive_int("top_paths", top_paths)
    if top_paths > beam_width:
        raise ValueError(f"`top_paths` must be at most `beam_width`. Received: top_paths={top_paths}, beam_width={beam_width}")
    logits, lengths = _checked(logits, lengths)
    decoded, _ = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=beam_width, top_paths=top_paths, mask_index=BLANK)
    paths = [_id_lists(path) for path in decoded]
    return [[path[b] for path in paths] for b in range(len(lengths))]


def _greedy_best(logits, lengths, beam_width):
    return ctc_greedy_decode(logits, lengths)


def _beam_best(logits, lengths, beam_width):
    return [paths[0] for paths in ctc_beam_decode(logits, lengths, beam_width=beam_width)]


# A table rather than if/elif: another decoder is one more entry.
DECODING_METHODS = {"greedy": _greedy_best, "beam": _beam_best}


def decode_texts(vocabulary: CharVocabulary, logits, lengths=None, method: str = "greedy", beam_width: int = 16) -> list[str]:
    """The best transcript of each example.

    Args:
        vocabulary: CharVocabulary. Maps ids to characters; its `size` must
            equal the logits' last dimension.
        logits: float array `(batch, frames, vocab_size)`.
        lengths: int array `(batch,)` or None. Valid frames per example;
            `None` means every frame. Defaults to `None`.
        method: str. `"greedy"` or `"beam"`. Defaults to `"greedy"`.
        beam_width: int. Beam width for `method="beam"`. Defaults to `16`.

    Returns:
        One string per example.
    """
    decoder = check_choice("method", method, DECODING_METHODS)
    classes = int(ops.shape(logits)[-1])
    if classes != vocabulary.size:
        raise ValueError(
            f"The logits score {classes} ids per frame but the vocabulary has {vocabulary.size} (blank included); "
            f"use the vocabulary the model was trained with. Received: logits.shape={tuple(ops.shape(logits))}"
        )
    return [vocabulary.decode(ids) for ids in decoder(logits, lengths, beam_width)]
