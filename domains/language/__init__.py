"""Language: text classification (sentiment) and machine translation, with subword tokenizers, beam search and BLEU/chrF."""
