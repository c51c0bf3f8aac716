"""The `dlsuite` command line."""
