"""`cache_speedup`: how much faster greedy decoding runs with the key/value cache than without."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from shared.seq2seq.decoding import Decoder
from shared.seq2seq.models import TransformerSeq2Seq
from shared.seq2seq.tokens import EOS_ID, SPECIAL_IDS


def cache_speedup(
    source_length: int = 30,
    target_length: int = 32,
    batch_size: int = 32,
    dim: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    ff_dim: int = 256,
    vocabulary_size: int = 1000,
    repeats: int = 3,
    seed: int = 0,
    jit_compile: bool = False,
    print_fn=print,
) -> dict:
    """Greedy tokens/s of a `TransformerSeq2Seq` with the cache, without it, and their ratio.

    The model is untrained (weights from `seed`), with its EOS logit pushed
    down so that every sequence runs all `target_length` steps on both
    paths; both must decode the same tokens (else `RuntimeError`). Each
    path is traced (with `jit_compile`, also XLA-compiled) once, then timed
    `repeats` times, and the best time counts. Prints one line through
    `print_fn` and returns `{"cached_tokens_per_second",
    "uncached_tokens_per_second", "speedup", ...the settings}`.
    """
    keras.utils.set_random_seed(seed)
    model = TransformerSeq2Seq(
        vocabulary_size, vocabulary_size, source_length, target_length,
        dim=dim, num_layers=num_layers, num_heads=num_heads, ff_dim=ff_dim, dropout=0.0,
    )
    model.build()
    bias = model.output_projection.bias
    bias.assign(ops.where(ops.arange(vocabulary_size) == EOS_ID, -1e4, bias))
    source = np.random.default_rng(seed).integers(len(SPECIAL_IDS), vocabulary_size, (batch_size, source_length)).astype("int32")
    decoder = Decoder(model, jit_compile=jit_compile)
    rates, outputs = {}, {}
    for use_cache in (True, False):
        outputs[use_cache] = decoder.greedy(source, use_cache=use_cache).ids  # traces the loop
        rates[use_cache] = max(decoder.greedy(source, use_cache=use_cache).tokens_per_second for _ in range(repeats))
    if not np.array_equal(outputs[True], outputs[False]):
        raise RuntimeError("cached and uncached greedy decoding disagree; the timing would compare different work")
    result = {
        "cached_tokens_per_second": rates[True],
        "uncached_tokens_per_second": rates[False],
        "speedup": rates[True] / rates[False],
        "source_length": source_length,
        "target_length": target_length,
        "batch_size": batch_size,
        "dim": dim,
        "num_layers": num_layers,
        "jit_compile": jit_compile,
    }
    print_fn(
        f"greedy decoding{' (XLA)' if jit_compile else ''}, transformer dim={dim} layers={num_layers}, batch {batch_size}, "
        f"source length {source_length}, "
        f"{target_length} steps: {rates[True]:.0f} tokens/s with the cache, {rates[False]:.0f} without, "
        f"speedup x{result['speedup']:.2f}"
    )
    return result
