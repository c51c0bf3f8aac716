"""The four reserved token ids every sequence-to-sequence model reads and writes.

They equal the ids that `shared.text.tokenizers` reserves; kept here so that
models and decoders need no tokenizer (and no text pipeline) to run.
"""

PAD_ID = 0  # padding: ignored by the loss and the metrics
UNK_ID = 1  # a piece the vocabulary lacks
BOS_ID = 2  # begins every target sequence and every decoded prefix
EOS_ID = 3  # ends a sequence; decoding stops once every sequence has one
SPECIAL_IDS = (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
