"""Domain packages. Each sub-package exposes `DOMAIN` in its `task.py`."""
