from shared.seq2seq import cache_speedup


def test_cache_speedup_reports_both_rates():
    lines = []
    result = cache_speedup(
        source_length=4, target_length=4, batch_size=2, dim=8, num_layers=1, num_heads=2, ff_dim=8,
        vocabulary_size=12, repeats=1, print_fn=lines.append,
    )
    assert result["cached_tokens_per_second"] > 0 and result["uncached_tokens_per_second"] > 0
    assert result["speedup"] == result["cached_tokens_per_second"] / result["uncached_tokens_per_second"]
    assert len(lines) == 1 and "speedup x" in lines[0]
