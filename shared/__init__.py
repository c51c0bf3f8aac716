"""dlsuite shared library: layers, data pipelines, training engine, CLI plumbing.

This package is domain-agnostic. It never imports `domains` or `apps`.
"""

__version__ = "0.1.0"
