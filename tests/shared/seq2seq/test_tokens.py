import pytest

from shared.seq2seq import BOS_ID, EOS_ID, PAD_ID, SPECIAL_IDS, UNK_ID


def test_reserved_ids():
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == SPECIAL_IDS == (0, 1, 2, 3)


def test_reserved_ids_equal_the_tokenizers():
    tokenizers = pytest.importorskip("shared.text.tokenizers")
    assert SPECIAL_IDS == (tokenizers.PAD_ID, tokenizers.UNK_ID, tokenizers.BOS_ID, tokenizers.EOS_ID)
