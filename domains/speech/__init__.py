"""Speech: keyword spotting (Speech Commands layout, streaming detection) and speech recognition (CTC)."""
