"""Render a model card (markdown) from a run's metadata and metrics."""

from __future__ import annotations

import json


def _flat(metrics: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flat(value, f"{name}."))
        elif not isinstance(value, (list, tuple)):
            rows.append((name, value))
    return rows


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _backbones(entries) -> list[str]:
    """The pretrained TF Hub backbones the model starts from, with what the registry says of them."""
    from shared.hub.registry import HUB_MODELS

    if not isinstance(entries, list) or not entries:
        return []
    lines = ["", "## Pretrained backbones (transfer learning)", ""]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        handle = str(entry.get("handle"))
        record = HUB_MODELS.get(handle) if handle in HUB_MODELS else None
        about = f": {record.notes}" if record is not None and record.notes else ""
        lines.append(f"- layer `{entry.get('layer')}`: `{handle}`{about}")
    return lines


def _tuning(record) -> list[str]:
    """The hyperparameter search that chose this run's config."""
    if not isinstance(record, dict):
        return []
    best = record.get("best_value")
    shown = f"{best:.4f}" if isinstance(best, int | float) else "n/a"
    return [
        "",
        "## Hyperparameter search",
        "",
        f"This config is the best of {record.get('trials')} trials of `dlsuite tune` ({record.get('seconds')} s of trials), "
        f"scored by {record.get('objective')} (best {shown}); the search never saw the test split.",
        f"- chosen: {', '.join(f'`{o}`' for o in record.get('best_overrides') or []) or 'the preset values'}",
        f"- tuner directory: {record.get('directory')} (trials.csv, tune.png, best_config.yaml)",
    ]


def render(metadata: dict, metrics: dict) -> str:
    """Markdown model card: model, data, metrics, intended use, limits."""
    prov = metadata.get("data", {})
    lines = [
        f"# Model card: {metadata.get('domain')} / {metadata.get('task')}",
        "",
        f"- Model type: `{metadata.get('model_type')}` ({metadata.get('parameters', 0):,} parameters)",
        f"- Created: {metadata.get('created')}",
        f"- Trained with: {json.dumps(metadata.get('training', {}))}",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in metadata.get('versions', {}).items())}",
        "",
        "## Data",
        "",
    ]
    if prov.get("synthetic"):
        lines += ["**This model was trained on synthetic demo data.** Its metrics say nothing about real-world performance.", ""]
    split = metadata.get("split")
    if isinstance(split, dict) and split.get("reason"):
        lines += [f"- Split: {split['reason']}"]
    lines += [f"- {k}: {_fmt(v)}" for k, v in prov.items() if not isinstance(v, (dict, list))]
    lines += _backbones(metadata.get("hub_backbones"))
    lines += _tuning(metadata.get("tuning"))
    lines += ["", "## Metrics (held-out test split)", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in _flat(metrics) if k != "decision.reason"]
    reason = metrics.get("decision", {}).get("reason") if isinstance(metrics.get("decision"), dict) else None
    if reason:
        lines += ["", "## Decision threshold", "", reason]
    lines += [
        "",
        "## Intended use",
        "",
        metadata.get("intended_use") or "Not stated.",
        "",
        "## Limitations",
        "",
        metadata.get("limitations") or "Not stated.",
        "",
        "## Inputs and outputs",
        "",
        "```json",
        json.dumps({"inputs": metadata.get("inputs"), "outputs": metadata.get("outputs")}, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)
