"""Named registries: swappable parts are chosen by name, never by if/elif.

Example:

```python
OPTIMIZERS = Registry("optimizer")

@OPTIMIZERS.register("adam")
def make_adam(learning_rate):
    ...

OPTIMIZERS.get("adam")
```
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from shared.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to parts (classes, builders, factories).

    Args:
        kind: str. What the registry holds, used in error messages
            ("model type", "optimizer", ...).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None) -> Callable[[T], T] | T:
        """Register `item` under `name`; usable as a decorator."""

        def add(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered.")
            self._items[name] = obj
            return obj

        return add(item) if item is not None else add

    def get(self, name: str) -> T:
        """Return the part named `name`, or raise with the valid choices."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        choices = ", ".join(sorted(self._items)) or "(none registered)"
        close = difflib.get_close_matches(str(name), self._items, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}; choose one of: {choices}.{hint}"

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(sorted(self._items.items()))

    def __contains__(self, name: Any) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
