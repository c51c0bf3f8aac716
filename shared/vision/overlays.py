"""Draw perception outputs onto frames: class masks as colour overlays, boxes with labels.

Pure numpy + Pillow on uint8 RGB frames, so the CLI, the app and the video
writer share one look. Nothing here knows a domain's classes: callers pass
names and colours.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

DEFAULT_COLORS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230))


def colorize(ids: np.ndarray, palette, ignore_color=(0, 0, 0)) -> np.ndarray:
    """Class ids [H, W] -> uint8 RGB [H, W, 3] with `palette[i]` for class i (ids past the palette get `ignore_color`)."""
    table = np.array([*palette, *([ignore_color] * (256 - len(palette)))], np.uint8)
    return table[np.asarray(ids, np.uint8)]


def blend_mask(frame: np.ndarray, ids: np.ndarray, palette, alpha: float = 0.5, visible=None) -> np.ndarray:
    """`frame` with each pixel tinted by its class colour; `visible` (a set of ids) limits which classes are drawn."""
    frame = np.asarray(frame, np.uint8)
    colors = colorize(ids, palette).astype(np.float32)
    weight = np.full(ids.shape, float(alpha), np.float32)
    if visible is not None:
        weight *= np.isin(ids, list(visible))
    out = frame.astype(np.float32) * (1 - weight[..., None]) + colors * weight[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def draw_boxes(frame: np.ndarray, boxes, labels, scores=None, names=None, colors=DEFAULT_COLORS, width: int = 1, scale: int = 1) -> np.ndarray:
    """`frame` with xyxy pixel boxes outlined and captioned (`name score`) in their class colour.

    `scale` > 1 enlarges the frame (bilinear) before drawing, so that captions
    stay legible on small frames; the result is `scale` times larger.
    """
    image = Image.fromarray(np.asarray(frame, np.uint8))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), resample=Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    for i, (box, label) in enumerate(zip(np.asarray(boxes, np.float32).reshape(-1, 4) * scale, np.asarray(labels).reshape(-1))):
        color = tuple(colors[int(label) % len(colors)])
        x0, y0, x1, y1 = (float(v) for v in box)
        draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=color, width=width)
        caption = names[int(label)] if names is not None else str(int(label))
        if scores is not None:
            caption += f" {float(scores[i]):.2f}"
        left, top, right, bottom = draw.textbbox((x0, y0), caption)
        lift = bottom - top + 1
        y = y0 - lift if y0 - lift >= 0 else y0
        draw.rectangle([x0, y, x0 + right - left + 1, y + lift], fill=color)
        draw.text((x0 + 1, y - (top - y0)), caption, fill=(0, 0, 0))
    return np.asarray(image)
