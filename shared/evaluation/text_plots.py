"""Matplotlib figures for text models: a cross-attention heat map and per-token attributions.

Like `shared.evaluation.plots`, every function builds a `Figure` with an Agg
canvas and never touches pyplot (Streamlit renders pages in threads).

Example:

```python
fig = attention_heatmap(weights, source_tokens, target_tokens)  # weights: (target, source)
save_figure(fig, "runs/language/attention.png")
```
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from shared.evaluation.plots import _new_figure


def attention_heatmap(weights, source_tokens, target_tokens, title: str = "") -> Figure:
    """Where each output token looked: rows are target tokens, columns source tokens, shade the weight."""
    weights = np.asarray(weights, dtype=float)
    rows, cols = len(target_tokens), len(source_tokens)
    if weights.shape[0] < rows or weights.shape[1] < cols:
        raise ValueError(f"weights of shape {weights.shape} cannot cover {rows} target x {cols} source tokens")
    weights = weights[:rows, :cols]
    fig = _new_figure(max(4.0, 0.45 * cols + 1.8), max(3.0, 0.4 * rows + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0, vmax=max(float(weights.max()), 1e-6))
    ax.set_xticks(range(cols), [str(t) for t in source_tokens], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(rows), [str(t) for t in target_tokens], fontsize=8)
    ax.set_xlabel("source token")
    ax.set_ylabel("output token")
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="attention weight")
    return fig


def token_bars(tokens, attributions, title: str = "") -> Figure:
    """Signed per-token attributions as bars, in text order (for a saved report; the app highlights text instead)."""
    values = np.asarray(attributions, dtype=float)
    fig = _new_figure(max(4.0, 0.35 * len(tokens) + 1.5), 2.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(len(values)), values, color=["#16a34a" if v >= 0 else "#dc2626" for v in values])
    ax.set_xticks(range(len(tokens)), [str(t) for t in tokens], rotation=60, ha="right", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("attribution")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
