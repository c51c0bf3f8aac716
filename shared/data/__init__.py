"""Data plumbing shared by every domain: tables, splits, TFRecord shards, tf.data pipelines."""
