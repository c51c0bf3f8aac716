"""Procedural road scenes for the driving domain: camera images with exact masks and boxes.

- `render_scene`: one forward-camera view of a road in perspective (lanes, curve,
  sometimes a junction, sidewalks, buildings, vegetation, sky) with vehicles,
  pedestrians, traffic signs and traffic lights, its segmentation mask
  (`classes.SEGMENTATION_CLASSES` ids) and the boxes of the visible objects;
- `render_clip`: frames of one drive: the camera moves forward, vehicles and
  pedestrians move, each frame with its own mask and boxes;
- `render_sign` / `sign_set`: sign crops of every `classes.SIGN_CLASSES` class
  on cluttered backgrounds, the way a sign classifier sees them;
- writers that store these in the layouts real data sets use (Cityscapes-style
  image/label PNGs, COCO JSON, the GTSRB training folders, an MPEG-4 clip), so
  the domain's file readers can be tried without downloading anything.

This is synthetic demo data drawn with numpy and PIL. Nothing is downloaded,
and the same arguments give byte-identical arrays (with the pinned numpy and
Pillow; all randomness comes from `np.random.default_rng(seed)`). Weather and
light change the image only: a scene rendered with two weathers has the same
mask and boxes. Masks and boxes come from the drawn geometry itself: every
shape is drawn into the image and the label layer together, back to front.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from domains.driving.classes import DETECTION_CLASSES, SEGMENTATION_CLASSES, SIGN_CLASSES

WEATHERS = ("day", "night", "rain", "fog")

_ID = {c.name: c.id for c in SEGMENTATION_CLASSES}
_ROAD, _SIDEWALK, _BUILDING, _VEGETATION, _SKY, _MARKING = (_ID[n] for n in ("road", "sidewalk", "building", "vegetation", "sky", "lane_marking"))
_OBJECT_SEG = {name: _ID[name] for name in DETECTION_CLASSES}  # detection class -> segmentation id
_INSTANCE = 10  # the label layer stores class + _INSTANCE * instance number

_SS = 2  # the image is drawn at this multiple and box-filtered down; labels are drawn at the final size
_OFF = (_SS - 1) / 2  # maps a final-size pixel centre onto the centre of its _SS x _SS block
_Z_NEAR, _Z_FAR = 0.6, 400.0  # metres: the nearest and farthest ground drawn
_SKYLINE_Z = 250.0  # distance of the far skyline
_SKY_DEPTH = 1.0e4
_MARKING_FAR = 120.0  # lane markings thinner than a pixel beyond this are left out
_MAX_OBJECTS = 6
_MIN_AREA, _MIN_SIDE = 12, 3  # smaller visible objects keep their mask pixels but get no box
_CLIP_FPS = 10.0


@dataclass(eq=False)
class Scene:
    """One rendered frame: the image, its segmentation mask and the boxes of the visible objects."""

    image: np.ndarray  # uint8 [H, W, 3] RGB
    mask: np.ndarray  # uint8 [H, W] segmentation ids
    boxes: np.ndarray  # float32 [N, 4] (x_min, y_min, x_max, y_max), pixel edges
    labels: np.ndarray  # int32 [N] indices into DETECTION_CLASSES
    weather: str


# ----------------------------------------------------------------------------- arguments


def _check_frame_size(height, width) -> None:
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 32 or value % 8:
            raise ValueError(f"{name} must be a multiple of 8 and >= 32. Received: {name}={value!r}")


def _check_weather(weather) -> None:
    if weather is not None and weather not in WEATHERS:
        raise ValueError(f"weather must be one of {WEATHERS} or None. Received: weather={weather!r}")


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


# ----------------------------------------------------------------------------- small helpers


def _rgb(color) -> tuple[int, int, int]:
    r, g, b = color
    return (int(min(255.0, max(0.0, r + 0.5))), int(min(255.0, max(0.0, g + 0.5))), int(min(255.0, max(0.0, b + 0.5))))


def _jitter(rng: np.random.Generator, color, spread: float) -> np.ndarray:
    return np.clip(np.asarray(color, np.float64) * rng.uniform(1 - spread, 1 + spread) + rng.uniform(-8, 8, 3), 0, 255)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def _hash01(*values: int) -> float:
    """A fixed pseudo-random number in [0, 1) for a tuple of ints: detail that stays put from frame to frame."""
    h = 0x9E3779B1
    for v in values:
        h = ((h ^ (int(v) & 0xFFFFFFFF)) * 0x01000193) & 0xFFFFFFFF
        h ^= h >> 15
    return (h & 0xFFFFFF) / float(1 << 24)


# ----------------------------------------------------------------------------- camera and canvas


class _View:
    """A forward camera on a road of constant curvature, in road coordinates.

    `d` is the lateral offset from the road's centre line (metres, right
    positive), `z` the distance ahead along the road, `h` the height above it.
    """

    def __init__(self, world):
        self.f, self.cx, self.horizon = world.f, world.cx, world.horizon
        self.cam_h, self.curve, self.cam_d = world.cam_h, world.curve, world.cam_d

    def xrel(self, d, z):
        return 0.5 * self.curve * z * z + d - self.cam_d

    def project(self, d, z, h=0.0):
        x = self.cx + self.f * self.xrel(d, z) / z
        y = self.horizon + self.f * (self.cam_h - h) / z
        return x, y

    def strip(self, d0: float, d1: float, z0: float, z1: float) -> np.ndarray | None:
        """Polygon of the ground between offsets d0..d1 and distances z0..z1, following the curve."""
        z0, z1 = max(z0, _Z_NEAR), min(z1, _Z_FAR)
        if z1 <= z0:
            return None
        n = min(40, max(2, int(2 + 8 * math.log2(z1 / z0))))
        zs = z0 * (z1 / z0) ** _STEPS[n]
        zz = np.concatenate([zs, zs[::-1]])
        dd = np.repeat(np.array([d0, d1]), n)
        pts = np.empty((2 * n, 2))
        pts[:, 0] = self.cx + self.f * (0.5 * self.curve * zz * zz + dd - self.cam_d) / zz
        pts[:, 1] = self.horizon + self.f * self.cam_h / zz
        return pts


_STEPS = {n: np.linspace(0.0, 1.0, n) for n in range(2, 41)}


class _Canvas:
    """The image (drawn at _SS x) and, from the same geometry at the final size, the label and depth layers.

    Every shape that carries a class is drawn into the image and the label
    layer in the same call, back to front, so occlusion in the mask is the
    occlusion in the image. Colours pass through the light's ambient factor;
    emitted light (lamps, lit windows) does not.
    """

    def __init__(self, height: int, width: int, sky_top, sky_bottom, horizon: float, ambient, with_depth: bool, ground_depth):
        self.height, self.width, self.ambient = height, width, np.asarray(ambient, np.float64)
        self._amb = tuple(float(v) for v in self.ambient)
        rows = np.clip((np.arange(height * _SS) + 0.5) / max(horizon * _SS, 1.0), 0, 1)[:, None] ** 0.8
        sky = np.asarray(sky_top, np.float32) * (1 - rows) + np.asarray(sky_bottom, np.float32) * rows
        column = Image.fromarray(np.clip(sky + 0.5, 0, 255).astype(np.uint8)[:, None, :])
        self.image = column.resize((width * _SS, height * _SS), Image.NEAREST)
        self.label = Image.new("L", (width, height), _SKY)
        self.depth = Image.fromarray(ground_depth) if with_depth else None
        self._di, self._dl = ImageDraw.Draw(self.image), ImageDraw.Draw(self.label)
        self._dd = ImageDraw.Draw(self.depth) if with_depth else None
        self.lights: list[tuple[float, float, float, tuple, int]] = []  # x, y, radius, rgb, label of the lamp's object

    def lit(self, color) -> tuple[int, int, int]:
        a = self._amb
        return _rgb((color[0] * a[0], color[1] * a[1], color[2] * a[2]))

    def polygon(self, pts: np.ndarray, color, label: int | None = None, depth: float | None = None, emit: bool = False):
        fill = _rgb(color) if emit else self.lit(color)
        self._di.polygon((pts * _SS + _OFF).ravel().tolist(), fill=fill)
        if label is not None:
            self._dl.polygon(pts.ravel().tolist(), fill=int(label))
        if depth is not None and self._dd is not None:
            self._dd.polygon(pts.ravel().tolist(), fill=float(depth))

    def depth_polygon(self, pts: np.ndarray, depth: float):
        if self._dd is not None:
            self._dd.polygon(pts.ravel().tolist(), fill=float(depth))

    def ellipse(self, x0, y0, x1, y1, color, label=None, depth=None, emit: bool = False):
        if x1 < x0 or y1 < y0:
            return
        fill = _rgb(color) if emit else self.lit(color)
        self._di.ellipse([x0 * _SS + _OFF, y0 * _SS + _OFF, x1 * _SS + _OFF, y1 * _SS + _OFF], fill=fill)
        if label is not None:
            self._dl.ellipse([x0, y0, x1, y1], fill=int(label))
        if depth is not None and self._dd is not None:
            self._dd.ellipse([x0, y0, x1, y1], fill=float(depth))

    def paste(self, rgb: np.ndarray, alpha: np.ndarray, x0: int, y0: int, label: int, depth: float, gain: float = 1.0):
        """Paste an _SS x design at final-size pixel (x0, y0); its label is its alpha at the final size, thresholded."""
        lit = np.clip(rgb.astype(np.float32) * (self.ambient * gain).astype(np.float32), 0, 255).astype(np.uint8)
        a = Image.fromarray(alpha)
        self.image.paste(Image.fromarray(lit), (x0 * _SS, y0 * _SS), a)
        solid = a.reduce(_SS).point(lambda v: 255 if v >= 128 else 0)
        box = (x0, y0, x0 + solid.width, y0 + solid.height)
        self.label.paste(int(label), box, solid)
        if self.depth is not None:
            self.depth.paste(float(depth), box, solid)


# ----------------------------------------------------------------------------- the world


@dataclass
class _Block:
    side: int
    s0: float
    s1: float
    d: float  # distance of the facade from the road centre
    depth: float
    height: float
    rgb: np.ndarray
    cls: int
    key: int
    floor: float = 3.2
    column: float = 3.0
    window: tuple[float, float] = (1.4, 1.5)
    glass: np.ndarray = field(default_factory=lambda: np.array([60.0, 70.0, 85.0]))


@dataclass
class _Tree:
    s: float
    d: float
    trunk: float
    radius: float
    rgb: np.ndarray
    key: int


@dataclass
class _Thing:
    """A detection-class object; `s`, `d` at t=0, velocities in m/s, `d` clamped to [d_lo, d_hi]."""

    kind: str
    s: float
    d: float
    length: float
    width: float
    vs: float = 0.0
    vd: float = 0.0
    d_lo: float = -1e9
    d_hi: float = 1e9
    style: dict = field(default_factory=dict)

    def s_at(self, t):
        return self.s + self.vs * np.asarray(t, np.float64)

    def d_at(self, t):
        return np.clip(self.d + self.vd * np.asarray(t, np.float64), self.d_lo, self.d_hi)


class _World:
    """Everything about one drive that does not depend on the weather: the layout the mask is made from."""


_CAR_COLORS = np.array([
    (230, 230, 228), (172, 174, 178), (34, 34, 38), (170, 28, 28), (32, 62, 150), (22, 32, 70),
    (34, 92, 54), (222, 180, 34), (104, 104, 108), (192, 172, 132), (120, 20, 30), (70, 110, 140),
], np.float64)
_FACADES = np.array([
    (150, 140, 128), (178, 168, 150), (120, 90, 78), (160, 110, 90), (110, 112, 118), (200, 196, 186),
    (140, 130, 112), (90, 92, 100), (186, 150, 116), (130, 140, 150),
], np.float64)
_SHIRTS = np.array([(180, 40, 40), (40, 70, 160), (230, 230, 220), (40, 40, 44), (60, 130, 80), (200, 160, 50), (120, 60, 130)], np.float64)
_SKIN = np.array([(230, 190, 160), (200, 150, 110), (150, 100, 70), (100, 70, 50)], np.float64)
_VEHICLE_KINDS = (("car", 1.8, 1.45, 4.3, 0.7), ("van", 2.0, 2.1, 5.0, 0.15), ("truck", 2.5, 3.2, 9.0, 0.15))


def _build_world(rng: np.random.Generator, height: int, width: int, frames: int, dt: float) -> _World:
    w = _World()
    w.height, w.width = height, width
    w.f = width * rng.uniform(0.72, 0.9)
    w.horizon = height * rng.uniform(0.36, 0.46)
    w.cx = width * (0.5 + rng.uniform(-0.05, 0.05))
    w.cam_h = rng.uniform(1.25, 1.6)
    w.curve = 0.0 if rng.random() < 0.25 else float(rng.choice([-1.0, 1.0]) * rng.uniform(0.0015, 0.0065))
    w.lanes = 2 if rng.random() < 0.65 else 4
    w.lane_w = rng.uniform(3.0, 3.6)
    w.edge = w.lanes * w.lane_w / 2  # the solid edge lines
    w.parking = rng.uniform(2.0, 2.6) if rng.random() < 0.4 else rng.uniform(0.25, 0.5)
    w.half = w.edge + w.parking  # the kerb
    w.sidewalk = rng.uniform(2.0, 4.0)
    ego_lane = w.lanes - 1 if w.lanes == 2 else int(rng.integers(w.lanes // 2, w.lanes))
    w.ego_d = -w.edge + w.lane_w * (ego_lane + 0.5)
    w.cam_d = w.ego_d + rng.uniform(-0.3, 0.3)
    w.times = np.arange(frames) * dt
    w.speed = rng.uniform(5.0, 11.0) if frames > 1 else 0.0
    travel = w.speed * float(w.times[-1])

    w.dash_period = rng.uniform(8.0, 12.0)
    w.dash_len = rng.uniform(2.5, 4.0)
    w.dash_phase = rng.uniform(0.0, w.dash_period)
    w.marking_w = rng.uniform(0.12, 0.2)
    w.centre_solid = rng.random() < 0.15
    w.centre_yellow = rng.random() < 0.2
    w.junction = None
    if rng.random() < 0.4:
        w.junction = (rng.uniform(16.0, 50.0) + rng.uniform(0.0, 0.6) * travel, rng.uniform(7.0, 11.0))
    if w.junction is not None:
        w.zebra = w.junction[0] - 3.5
    elif rng.random() < 0.25:
        w.zebra = rng.uniform(12.0, 40.0) + rng.uniform(0.0, 0.6) * travel
    else:
        w.zebra = None

    w.road_rgb = _jitter(rng, (88, 88, 92), 0.18)
    w.track_rgb = w.road_rgb * rng.uniform(0.9, 0.96)
    w.sidewalk_rgb = _jitter(rng, (168, 162, 156), 0.12)
    w.kerb_rgb = np.clip(w.sidewalk_rgb * 1.12, 0, 255)
    w.grass_rgb = _jitter(rng, (84, 118, 52), 0.2) if rng.random() < 0.7 else _jitter(rng, (120, 106, 78), 0.15)
    w.marking_rgb = _jitter(rng, (232, 232, 226), 0.05)
    w.yellow_rgb = np.array([225.0, 190.0, 60.0])

    zone = None
    if w.junction is not None:
        zone = (w.junction[0] - w.sidewalk - 1.5, w.junction[0] + w.junction[1] + w.sidewalk + 1.5)
    w.blocks, w.trees = [], []
    far_end = travel + _SKYLINE_Z - 10.0
    for side in (-1, 1):
        _line_side(rng, w, side, far_end, zone)
    rows = [(b.s0, b.s1, b.side * b.d, b.side * (b.d + b.depth), b.height) for b in w.blocks]
    w.block_table = tuple(np.array(v, np.float64).reshape(len(rows)) for v in zip(*rows)) if rows else (np.zeros(0),) * 5

    n = 24
    w.skyline_cls = _BUILDING if rng.random() < 0.55 else _VEGETATION
    if w.skyline_cls == _BUILDING:
        w.skyline = np.repeat(rng.uniform(3.0, 40.0, n), 1)
        w.skyline_rgb = _jitter(rng, (120, 128, 140), 0.1)
    else:
        w.skyline = np.convolve(rng.uniform(4.0, 22.0, n + 4), np.ones(5) / 5, "valid")
        w.skyline_rgb = _jitter(rng, (70, 96, 70), 0.15)
    w.things = _place_things(rng, w, frames)
    return w


def _lerp(lo: float, hi: float, u) -> float:
    return lo + (hi - lo) * u


def _tint(color, spread: float, u: np.ndarray) -> np.ndarray:
    """Colours [n, 3]: `color` ([3] or [n, 3]) scaled by up to +-spread and shifted a little, from uniforms `u` [n, 4]."""
    return np.clip(np.asarray(color, np.float64) * _lerp(1 - spread, 1 + spread, u[:, :1]) + _lerp(-8.0, 8.0, u[:, 1:4]), 0, 255)


def _line_side(rng: np.random.Generator, w: _World, side: int, far_end: float, zone) -> None:
    """Buildings (urban) or trees, hedges and a few houses (green) along one side of the road, none in a junction."""
    urban = rng.random() < 0.7
    steps = int((far_end + 40.0) / 4.0) + 4  # each step moves on at least 4 m
    u = rng.random((steps, 32))  # the uniforms of one step, drawn at once
    keys = rng.integers(1 << 30, size=(steps, 3))
    s = _lerp(-30.0, -10.0, u[0, 31])
    facades = _tint(_FACADES[(u[:, 6] * len(_FACADES)).astype(int)], 0.1, u[:, 7:11])
    glass = _tint((62, 74, 92), 0.2, u[:, 15:19])
    leaves = _tint((52, 96, 38), 0.25, u[:, 26:30])
    hedges = _tint((60, 100, 42), 0.2, u[:, 7:11])
    for i in range(steps):
        r = u[i]
        if s >= far_end:
            break
        if zone is not None and zone[0] <= s < zone[1]:
            s = zone[1]
        if urban:
            length = _lerp(8.0, 30.0, r[0])
            gap = _lerp(0.0, 2.0, r[2]) if r[1] < 0.7 else _lerp(4.0, 10.0, r[2])
        else:
            length = _lerp(6.0, 14.0, r[0]) if r[1] < 0.25 else 0.0
            gap = _lerp(5.0, 14.0, r[2])
        if zone is not None and s < zone[0] < s + length:
            length = zone[0] - s
        if length >= 4.0:
            house = not urban
            w.blocks.append(_Block(
                side=side, s0=s, s1=s + length,
                d=w.half + w.sidewalk + (_lerp(3.0, 8.0, r[3]) if house else _lerp(0.0, 2.5, r[3])),
                depth=_lerp(10.0, 20.0, r[4]), height=_lerp(4.5, 8.0, r[5]) if house else _lerp(6.0, 26.0, r[5]),
                rgb=facades[i], cls=_BUILDING, key=int(keys[i, 0]),
                floor=_lerp(2.8, 3.6, r[11]), column=_lerp(2.4, 4.0, r[12]), window=(_lerp(0.9, 1.8, r[13]), _lerp(1.1, 1.8, r[14])),
                glass=glass[i],
            ))
        else:
            length = 0.0
        if gap >= 4.0 or not urban:
            for k in range(1 if urban or r[19] < 0.5 else 2):
                s_tree = s + length + _lerp(0.2, 0.8, r[20 + k]) * max(gap, 1.0)
                if zone is not None and zone[0] - 1 <= s_tree <= zone[1] + 1:
                    continue
                w.trees.append(_Tree(
                    s=s_tree, d=side * (w.half + w.sidewalk + _lerp(0.8, 5.0, r[22 + k])), trunk=_lerp(1.8, 3.5, r[24]),
                    radius=_lerp(1.5, 3.2, r[25]), rgb=leaves[i], key=int(keys[i, 1 + k]),
                ))
        if not urban and r[30] < 0.3:
            s1 = s + _lerp(6.0, 20.0, r[31])
            if zone is not None and s < zone[1] and s1 > zone[0]:
                s1 = min(s1, zone[0])
            if s1 - s > 2.0:
                w.blocks.append(_Block(
                    side=side, s0=s, s1=s1, d=w.half + w.sidewalk + _lerp(0.2, 0.8, r[3]), depth=0.8,
                    height=_lerp(0.8, 1.4, r[5]), rgb=hedges[i], cls=_VEGETATION, key=0,
                ))
        s += max(length + gap, 4.0)


def _along(rng: np.random.Generator, lo: float, hi: float, travel: float) -> float:
    """A distance uniform over lo..hi ahead of every camera position of the drive."""
    return lo + rng.uniform(0.0, 1.0) * (hi - lo + travel)


def _vehicle(rng, w, travel, span) -> _Thing:
    dims = _VEHICLE_KINDS[int(rng.choice(len(_VEHICLE_KINDS), p=[k[4] for k in _VEHICLE_KINDS]))]
    kind, width, height, length = dims[0], *(v * rng.uniform(0.93, 1.07) for v in dims[1:4])
    lanes = [(-w.edge + w.lane_w * (i + 0.5)) for i in range(w.lanes)]
    options = [(d, 1 if d > 0 else -1, "lane") for d in lanes]
    if w.parking > 1.5:
        options += [(w.edge + w.parking / 2, 1, "parked"), (-w.edge - w.parking / 2, -1, "parked")]
    d, facing, where = options[int(rng.integers(len(options)))]
    if where == "parked" and rng.random() < 0.3:
        facing = -facing
    s = _along(rng, 6.0, 60.0, travel)
    vs = 0.0
    if span > 0 and where == "lane":
        vs = w.speed + rng.uniform(-2.0, 2.5) if facing > 0 else -rng.uniform(6.0, 12.0)
        if facing < 0:
            s += rng.uniform(0.0, 12.0) * span
    color = _CAR_COLORS[int(rng.integers(len(_CAR_COLORS)))]
    if kind == "truck" and rng.random() < 0.4:
        kind = "bus"
    return _Thing("vehicle", s, d + rng.uniform(-0.25, 0.25), length, width, vs=vs, style=dict(
        kind=kind, height=height, facing=facing, color=_jitter(rng, color, 0.06), parked=where == "parked"))


def _pedestrian(rng, w, travel, span) -> _Thing:
    height = rng.uniform(1.1, 1.35) if rng.random() < 0.1 else rng.uniform(1.55, 1.9)
    style = dict(height=height, shirt=_jitter(rng, _SHIRTS[int(rng.integers(len(_SHIRTS)))], 0.1),
                 legs=_jitter(rng, (50, 52, 64), 0.3), skin=_SKIN[int(rng.integers(len(_SKIN)))],
                 hair=_jitter(rng, (40, 30, 24), 0.4), phase=rng.uniform(0, 2 * math.pi))
    if rng.random() < 0.7 or w.half > 9.0:
        side = 1 if rng.random() < 0.6 else -1
        d = side * (w.half + rng.uniform(0.4, w.sidewalk - 0.3))
        walking = rng.random() < 0.8
        vs = rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 1.6) if walking and span > 0 else 0.0
        style.update(view="front", walking=walking, pace=abs(vs))
        return _Thing("pedestrian", _along(rng, 4.0, 30.0, travel), d, 0.5, 0.5, vs=vs, style=style)
    s = (w.zebra + rng.uniform(0.5, 2.5)) if w.zebra is not None else _along(rng, 6.0, 30.0, travel)
    direction = float(rng.choice([-1.0, 1.0]))
    pace = rng.uniform(0.9, 1.5)
    d_lo, d_hi = -(w.half + 0.8), w.half + 0.8
    if span > 0:
        # Off the road again before the camera reaches them.
        done = max(0.0, (s - 12.0) / max(w.speed, 1e-6))
        d = direction * (w.half + 0.8) - direction * pace * done
    else:
        d = rng.uniform(-w.half, w.half)
    style.update(view="side", walking=True, pace=pace, direction=direction)
    return _Thing("pedestrian", s, d, 0.5, 0.5, vd=direction * pace if span > 0 else 0.0, d_lo=d_lo, d_hi=d_hi, style=style)


def _sign(rng, w, travel) -> _Thing:
    side = 1 if rng.random() < 0.75 else -1
    s = _along(rng, 6.0, 32.0, travel)
    name = SIGN_CLASSES[int(rng.integers(len(SIGN_CLASSES)))]
    if w.zebra is not None and rng.random() < 0.4:
        s, name = w.zebra - rng.uniform(1.0, 4.0), "pedestrian_crossing"
    return _Thing("traffic_sign", s, side * (w.half + rng.uniform(0.3, 0.8)), 0.3, 0.3, style=dict(
        name=name, face=rng.uniform(0.7, 0.95), height=rng.uniform(2.0, 2.6)))


def _light(rng, w, travel) -> _Thing:
    side = 1 if rng.random() < 0.7 else -1
    if w.junction is not None and rng.random() < 0.8:
        s = w.junction[0] - rng.uniform(0.3, 1.5)
    else:
        s = _along(rng, 8.0, 30.0, travel)
    return _Thing("traffic_light", s, side * (w.half + rng.uniform(0.3, 0.7)), 0.3, 0.3, style=dict(
        height=rng.uniform(2.2, 3.0), state=int(rng.integers(3)), period=rng.uniform(4.0, 8.0), offset=rng.uniform(0.0, 20.0),
        cycle=rng.random() < 0.7))


def _place_things(rng: np.random.Generator, w: _World, frames: int) -> list[_Thing]:
    """Objects that do not overlap each other on the ground at any frame, at most _MAX_OBJECTS in view at once."""
    t = w.times
    span = float(t[-1])
    travel = w.speed * span
    count = int(rng.integers(0, _MAX_OBJECTS + 1)) if frames == 1 else int(round(rng.uniform(1.5, 4.5) * (80.0 + travel) / 80.0))
    things, tracks = [], []
    kinds = rng.choice(len(DETECTION_CLASSES), size=count, p=[0.42, 0.26, 0.18, 0.14])
    cam = w.speed * t
    for k in kinds:
        kind = DETECTION_CLASSES[int(k)]
        for _ in range(20):
            if kind == "vehicle":
                thing = _vehicle(rng, w, travel, span)
            elif kind == "pedestrian":
                thing = _pedestrian(rng, w, travel, span)
            elif kind == "traffic_sign":
                thing = _sign(rng, w, travel)
            else:
                thing = _light(rng, w, travel)
            s, d = thing.s_at(t), thing.d_at(t)
            if kind == "vehicle" and abs(thing.d - w.ego_d) < w.lane_w / 2 and np.any(s - cam < 7.0):
                continue  # never drive into the car ahead
            clash = any(
                np.any((s < s2 + o.length + 1.0) & (s2 < s + thing.length + 1.0)
                       & (np.abs(d - d2) < (thing.width + o.width) / 2 + 0.4))
                for o, (s2, d2) in zip(things, tracks)
            )
            if not clash:
                things.append(thing)
                tracks.append((s, d))
                break
    if not things:
        return things
    z = np.stack([s for s, _ in tracks]) - cam[None, :]
    x = np.stack([d for _, d in tracks])
    zc = np.maximum(z, 1.0)
    seen = (z > 1.0) & (z < 80.0) & (np.abs(w.f * (0.5 * w.curve * zc * zc + x - w.cam_d) / zc) < w.width * 0.6)
    keep = np.ones(len(things), bool)
    while True:
        crowded = (seen & keep[:, None]).sum(0) > _MAX_OBJECTS
        if not crowded.any():
            break
        load = (seen[:, crowded] & keep[:, None]).sum(1)
        keep[len(load) - 1 - int(np.argmax(load[::-1]))] = False
    return [o for o, k in zip(things, keep) if k]


# ----------------------------------------------------------------------------- drawing the scene


def _ranges_outside(z0: float, z1: float, gaps) -> list[tuple[float, float]]:
    out, start = [], z0
    for g0, g1 in sorted(gaps):
        if g1 <= start or g0 >= z1:
            continue
        if g0 > start:
            out.append((start, g0))
        start = max(start, g1)
    if start < z1:
        out.append((start, z1))
    return out


def _draw_ground(cv: _Canvas, w: _World, view: _View, s_cam: float) -> None:
    H, W = cv.height, cv.width
    cv.polygon(_rect(-2, w.horizon, W + 2, H + 2), w.grass_rgb, _VEGETATION)
    junction = None
    if w.junction is not None and w.junction[0] + w.junction[1] - s_cam > _Z_NEAR:
        junction = (w.junction[0] - s_cam, w.junction[0] + w.junction[1] - s_cam)
    gaps = [junction] if junction else []
    wide = 90.0
    for side in (-1, 1):
        inner, outer = sorted((side * w.half, side * (w.half + w.sidewalk)))
        kerb0, kerb1 = sorted((side * w.half, side * (w.half + 0.15)))
        for z0, z1 in _ranges_outside(_Z_NEAR, _Z_FAR, gaps):
            for pts, rgb in ((view.strip(inner, outer, z0, z1), w.sidewalk_rgb), (view.strip(kerb0, kerb1, z0, z1), w.kerb_rgb)):
                if pts is not None:
                    cv.polygon(pts, rgb, _SIDEWALK)
        if junction:
            lo, hi = sorted((side * w.half, side * wide))
            for z0, z1 in ((junction[0] - w.sidewalk, junction[0]), (junction[1], junction[1] + w.sidewalk)):
                pts = view.strip(lo, hi, z0, z1)
                if pts is not None:
                    cv.polygon(pts, w.sidewalk_rgb, _SIDEWALK)
    cv.polygon(view.strip(-w.half, w.half, _Z_NEAR, _Z_FAR), w.road_rgb, _ROAD)
    if junction:
        cv.polygon(view.strip(-wide, wide, *junction), w.road_rgb, _ROAD)
    for i in range(w.lanes):  # darker wheel tracks, image only
        centre = -w.edge + w.lane_w * (i + 0.5)
        for off in (-0.8, 0.8):
            for z0, z1 in _ranges_outside(_Z_NEAR, 150.0, gaps):
                pts = view.strip(centre + off - 0.25, centre + off + 0.25, z0, z1)
                if pts is not None:
                    cv.polygon(pts, w.track_rgb)

    mw = w.marking_w
    for side in (-1, 1):  # solid edge lines
        lo, hi = sorted((side * (w.edge - 0.1), side * (w.edge - 0.1 - mw)))
        for z0, z1 in _ranges_outside(_Z_NEAR, _MARKING_FAR, [(junction[0] - 0.5, junction[1] + 0.5)] if junction else []):
            pts = view.strip(lo, hi, z0, z1)
            if pts is not None:
                cv.polygon(pts, w.marking_rgb, _MARKING)
    crossings = []
    if w.zebra is not None:
        zz = w.zebra - s_cam
        if zz + 3.0 > _Z_NEAR and zz < _MARKING_FAR:
            crossings.append((zz, zz + 3.0))
            for d0 in np.arange(-w.edge + 0.3, w.edge - 0.4, 1.0):
                pts = view.strip(d0, d0 + 0.5, zz, zz + 3.0)
                if pts is not None:
                    cv.polygon(pts, w.marking_rgb, _MARKING)
    if junction:
        stop = junction[0] - 4.6
        pts = view.strip(0.0, w.edge - 0.1, stop, stop + 0.4)
        if pts is not None:
            cv.polygon(pts, w.marking_rgb, _MARKING)
        mid = (junction[0] + junction[1]) / 2
        if _Z_NEAR < mid < _MARKING_FAR:
            for side in (-1, 1):
                for a in np.arange(w.half + 1.0, 40.0, 4.0):
                    lo, hi = sorted((side * a, side * (a + 2.0)))
                    pts = view.strip(lo, hi, mid - mw / 2, mid + mw / 2)
                    if pts is not None:
                        cv.polygon(pts, w.marking_rgb, _MARKING)
    no_dash = crossings + ([(junction[0] - 5.0, junction[1] + 0.5)] if junction else [])
    k0 = math.floor((s_cam + _Z_NEAR - w.dash_phase - w.dash_len) / w.dash_period)
    k1 = math.ceil((s_cam + _MARKING_FAR - w.dash_phase) / w.dash_period)
    dash_z = [(w.dash_phase + k * w.dash_period - s_cam, w.dash_phase + k * w.dash_period + w.dash_len - s_cam) for k in range(k0, k1 + 1)]
    for i in range(1, w.lanes):
        d = -w.edge + w.lane_w * i
        centre = i == w.lanes // 2
        rgb = w.yellow_rgb if centre and w.centre_yellow else w.marking_rgb
        if centre and w.centre_solid:
            segments = _ranges_outside(_Z_NEAR, _MARKING_FAR, no_dash)
            offsets = (-mw * 0.9, mw * 0.9)
        else:
            segments = [seg for z0, z1 in dash_z for seg in _ranges_outside(max(z0, _Z_NEAR), min(z1, _MARKING_FAR), no_dash) if z1 > _Z_NEAR]
            offsets = (0.0,)
        for off in offsets:
            for z0, z1 in segments:
                pts = view.strip(d + off - mw / 2, d + off + mw / 2, z0, z1)
                if pts is not None:
                    cv.polygon(pts, rgb, _MARKING)


def _draw_skyline(cv: _Canvas, w: _World, view: _View) -> None:
    z = _SKYLINE_Z
    base = view.horizon + view.f * view.cam_h / z
    xs = np.linspace(-2, cv.width + 2, len(w.skyline) + 1)
    heights = view.f * w.skyline / z
    if w.skyline_cls == _BUILDING:
        top = np.stack([np.repeat(xs, 2)[1:-1], np.repeat(base - heights, 2)], 1)
    else:
        top = np.stack([np.linspace(-2, cv.width + 2, len(heights)), base - heights], 1)
    pts = np.concatenate([top, [[cv.width + 2, base + 0.5], [-2, base + 0.5]]])
    cv.polygon(pts, w.skyline_rgb, w.skyline_cls, depth=z)


def _block_outlines(w: _World, view: _View, s_cam: float):
    """Facade and front-face quads of every block at one camera position, projected at once."""
    s0, s1, face, back, height = w.block_table
    z0, z1 = s0 - s_cam, s1 - s_cam
    z0c = np.maximum(z0, _Z_NEAR)
    h = height[:, None] * np.array([0.0, 0.0, 1.0, 1.0])
    fx, fy = view.project(face[:, None], np.stack([z0c, z1, z1, z0c], 1), h)
    bx, by = view.project(np.stack([face, back, back, face], 1), z0c[:, None], h)
    return z0, z1, np.stack([fx, fy], -1), np.stack([bx, by], -1)


def _draw_block(cv: _Canvas, view: _View, b: _Block, s_cam: float, night: bool, outline) -> None:
    z0, z1, facade, front_face = outline
    if z1 <= _Z_NEAR + 0.2 or z0 >= _SKYLINE_Z - 5:
        return
    front = z0 >= _Z_NEAR
    z0 = max(z0, _Z_NEAR)
    face = b.side * b.d
    shade = 1.0 if b.side > 0 else 0.78
    cv.polygon(facade, b.rgb * shade, b.cls)
    if cv.depth is not None:  # the depth layer follows the facade in pieces
        cuts = np.linspace(z0, z1, max(2, int(math.ceil((z1 - z0) / 8.0)) + 1))
        for a, c in zip(cuts[:-1], cuts[1:]):
            x, y = view.project(face, np.array([a, c, c, a]), np.array([0.0, 0.0, b.height, b.height]))
            cv.depth_polygon(np.stack([x, y], 1), (a + c) / 2)
    if front:
        cv.polygon(front_face, b.rgb * 0.88, b.cls, depth=z0)
    if b.cls != _BUILDING or z0 > 90.0:
        return
    # Windows, image only: a grid over the facade and one over the front face.
    wide, tall = b.window
    rows = np.arange(1.1, b.height - tall - 0.4, b.floor)
    if not len(rows) or wide * view.f / max(z0, 1.0) < 0.6:
        return
    starts = np.arange(b.s0 + 0.8, b.s1 - wide - 0.3, b.column)
    cols = starts - s_cam
    ok = (cols > _Z_NEAR) & (cols + wide < 90.0)
    if ok.any():
        zc = cols[ok][None, :, None] + np.array([0.0, wide, wide, 0.0])
        hc = rows[:, None, None] + np.array([0.0, 0.0, tall, tall])
        x, y = view.project(face, zc, hc)
        u = _hash_grid(b.key, np.arange(len(rows)), np.rint(starts[ok]).astype(np.int64))
        _draw_windows(cv, x, y, u, b.glass * shade, night)
    if front:
        across = np.arange(0.8, b.depth - wide - 0.3, b.column)
        if len(across):
            dd = face + b.side * (across[None, :, None] + np.array([0.0, wide, wide, 0.0]))
            hc = rows[:, None, None] + np.array([0.0, 0.0, tall, tall])
            x, y = view.project(dd, z0, hc)
            u = _hash_grid(b.key, np.arange(len(rows)), 100000 + np.arange(len(across)))
            _draw_windows(cv, x, y, u, b.glass * 0.9, night)


def _hash_grid(key: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Fixed pseudo-random numbers in [0, 1) per (row, column) of a facade, so lit windows stay put across frames."""
    h = (np.uint64(key & 0xFFFFFFFF) * np.uint64(0x9E3779B1) + rows.astype(np.uint64)[:, None] * np.uint64(0x85EBCA6B)
         + cols.astype(np.uint64)[None, :] * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(12)
    return (h & np.uint64(0xFFFFFF)).astype(np.float64) / float(1 << 24)


def _draw_windows(cv: _Canvas, x: np.ndarray, y: np.ndarray, u: np.ndarray, glass: np.ndarray, night: bool) -> None:
    """Window quads [rows, cols, 4 corners], image only; at night about a third are lit."""
    x, y = np.broadcast_arrays(x, y)
    visible = (x.max(-1) - x.min(-1) >= 0.4) & (x.max(-1) > -1) & (x.min(-1) < cv.width + 1) & (y.max(-1) > -1)
    if not visible.any():
        return
    pts = (np.stack([x, y], -1)[visible] * _SS + _OFF).reshape(-1, 8).tolist()
    u = u[visible]
    colors = glass * (0.8 + 0.5 * u)[:, None] * cv.ambient
    if night:
        lit = u < 0.35
        colors[lit] = np.stack([235 - 60 * u[lit], 195 - 50 * u[lit], 125 + 0 * u[lit]], 1)
    fills = [tuple(c) for c in np.clip(np.rint(colors), 0, 255).astype(np.int64).tolist()]
    draw = cv._di
    for quad, fill in zip(pts, fills):
        draw.polygon(quad, fill=fill)


def _draw_tree(cv: _Canvas, view: _View, tree: _Tree, s_cam: float) -> None:
    z = tree.s - s_cam
    if z < 1.0 or z > _SKYLINE_Z - 5:
        return
    px = view.f / z
    x, y = view.project(tree.d, z)
    tw = max(0.3 * px, 0.5)
    cv.polygon(_rect(x - tw / 2, y - tree.trunk * px, x + tw / 2, y), (82, 62, 44), _VEGETATION, depth=z)
    r = tree.radius * px
    cy = y - (tree.trunk + tree.radius * 0.8) * px
    for k, (dx, dy, rr, tone) in enumerate(((0.0, 0.0, 1.0, 1.0), (-0.55, 0.25, 0.7, 0.85), (0.55, 0.2, 0.72, 0.92), (0.1, -0.5, 0.6, 1.12))):
        jitter = 0.15 * (_hash01(tree.key, k) - 0.5)
        cx_, cy_, rr_ = x + (dx + jitter) * r, cy + dy * r, rr * r
        cv.ellipse(cx_ - rr_, cy_ - rr_ * 0.9, cx_ + rr_, cy_ + rr_ * 0.9, tree.rgb * tone, _VEGETATION, depth=z)


def _box_faces(view: _View, dl: float, dr: float, z0: float, z1: float, h0: float, h1: float):
    """The visible faces of an axis-aligned box, as (name, polygon) pairs that do not overlap."""
    faces = []
    if view.xrel(dl, z0) > 0:
        x, y = view.project(dl, np.array([z0, z1, z1, z0]), np.array([h0, h0, h1, h1]))
        faces.append(("side", np.stack([x, y], 1)))
    elif view.xrel(dr, z0) < 0:
        x, y = view.project(dr, np.array([z0, z1, z1, z0]), np.array([h0, h0, h1, h1]))
        faces.append(("side", np.stack([x, y], 1)))
    if h1 < view.cam_h:
        x, y = view.project(np.array([dl, dr, dr, dl]), np.array([z0, z0, z1, z1]), h1)
        faces.append(("top", np.stack([x, y], 1)))
    x, y = view.project(np.array([dl, dr, dr, dl]), z0, np.array([h0, h0, h1, h1]))
    faces.append(("near", np.stack([x, y], 1)))
    return faces


def _part(near: np.ndarray, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    """A rectangle of a near face by fractions: u across from the left, v down from the top."""
    xl, xr = near[0, 0], near[1, 0]
    yt, yb = near[2, 1], near[0, 1]
    return _rect(xl + u0 * (xr - xl), yt + v0 * (yb - yt), xl + u1 * (xr - xl), yt + v1 * (yb - yt))


def _draw_vehicle(cv: _Canvas, view: _View, z: float, d: float, thing: _Thing, label: int, night: bool) -> None:
    st = thing.style
    color, kind, facing, height = st["color"], st["kind"], st["facing"], st["height"]
    width, length = thing.width, thing.length
    dl, dr = d - width / 2, d + width / 2
    tone = {"side": 0.72, "top": 1.08, "near": 0.93}
    if kind == "car":
        parts = [(dl, dr, z, z + length, 0.0, 0.52 * height, color), (dl + 0.1 * width, dr - 0.1 * width, z + 0.24 * length, z + 0.76 * length, 0.52 * height, height, color)]
    elif kind == "van":
        parts = [(dl, dr, z, z + length, 0.0, 0.45 * height, color), (dl + 0.04 * width, dr - 0.04 * width, z + 0.04 * length, z + 0.96 * length, 0.45 * height, height, color)]
    else:
        parts = [(dl, dr, z, z + length, 0.0, height, color)]
    glass = np.array([38.0, 44.0, 56.0])
    nears = []
    for i, (a, b, c, e, h0, h1, rgb) in enumerate(parts):
        for name, pts in _box_faces(view, a, b, c, e, h0, h1):
            cabin = i == 1 and name == "side"
            cv.polygon(pts, glass * 1.2 if cabin else rgb * tone[name], label, depth=c)
            if name == "near":
                nears.append(pts)
    body, top = nears[0], nears[-1]
    lamp = []
    if kind in ("car", "van"):
        cv.polygon(_part(top, 0.1, 0.9, 0.14, 0.92 if kind == "car" else 0.6), glass)
        cv.polygon(_part(body, 0.0, 1.0, 0.78, 1.0), (28, 28, 30))  # bumper and tyres
        if facing > 0:
            lamp = [_part(body, 0.04, 0.2, 0.18, 0.42), _part(body, 0.8, 0.96, 0.18, 0.42)]
            cv.polygon(_part(body, 0.38, 0.62, 0.45, 0.68), (214, 214, 200))
        else:
            lamp = [_part(body, 0.05, 0.22, 0.16, 0.38), _part(body, 0.78, 0.95, 0.16, 0.38)]
            cv.polygon(_part(body, 0.3, 0.7, 0.2, 0.5), (40, 40, 44))
    else:
        cv.polygon(_part(body, 0.0, 1.0, 0.9, 1.0), (26, 26, 28))
        if facing > 0:
            cv.polygon(_part(body, 0.495, 0.505, 0.1, 0.86), color * 0.6)
            lamp = [_part(body, 0.04, 0.14, 0.78, 0.86), _part(body, 0.86, 0.96, 0.78, 0.86)]
        else:
            cv.polygon(_part(body, 0.06, 0.94, 0.08, 0.4 if kind == "bus" else 0.32), glass)
            lamp = [_part(body, 0.05, 0.18, 0.8, 0.86), _part(body, 0.82, 0.95, 0.8, 0.86)]
        if kind == "bus":
            for name, pts in _box_faces(view, dl, dr, z + 0.5, z + length - 0.5, 0.42 * height, 0.78 * height):
                if name == "side":
                    cv.polygon(pts, glass * 1.3)
    red, white = (150, 22, 22), (225, 225, 210)
    on = night and not st["parked"]
    for pts in lamp:
        lamp_rgb = (255, 60, 40) if facing > 0 else (255, 250, 225)
        cv.polygon(pts, lamp_rgb if on else (red if facing > 0 else white), emit=on)
        if on:
            cx_, cy_ = pts[:, 0].mean(), pts[:, 1].mean()
            size = max(pts[:, 0].max() - pts[:, 0].min(), 0.6)
            cv.lights.append((cx_, cy_, size * (2.0 if facing < 0 else 1.2), lamp_rgb, label))


def _draw_pedestrian(cv: _Canvas, view: _View, z: float, d: float, thing: _Thing, t: float, label: int) -> None:
    st = thing.style
    px = view.f / z
    x0, y0 = view.project(d, z)
    hp = st["height"]

    def quad(u0, h0, u1, h1, w0, w1):
        return np.array([[x0 + (u0 - w0) * px, y0 - h0 * px], [x0 + (u0 + w0) * px, y0 - h0 * px],
                         [x0 + (u1 + w1) * px, y0 - h1 * px], [x0 + (u1 - w1) * px, y0 - h1 * px]])

    phase = st["phase"] + (2 * math.pi * st["pace"] / 1.4 * t if st["walking"] else 0.0)
    swing = math.sin(phase) if st["walking"] else 0.0
    hip, shoulder = 0.5 * hp, 0.8 * hp
    if st["view"] == "side":
        lean = 0.02 * hp * st.get("direction", 1.0)
        for sign in (1, -1):
            cv.polygon(quad(sign * swing * 0.17 * hp, 0.0, lean, hip, 0.055, 0.07), np.asarray(st["legs"]) * (1.0 if sign > 0 else 0.8), label, depth=z)
        cv.polygon(quad(lean, hip - 0.03, lean * 1.5, shoulder, 0.12, 0.13), st["shirt"], label, depth=z)
        for sign in (-1, 1):
            cv.polygon(quad(lean * 1.5, shoulder - 0.02, -sign * swing * 0.12 * hp, 0.47 * hp, 0.04, 0.035),
                       np.asarray(st["shirt"]) * (0.85 if sign > 0 else 1.0), label, depth=z)
    else:
        for sign in (-1, 1):
            lift = max(0.0, sign * swing) * 0.06 * hp
            cv.polygon(quad(sign * 0.1, lift, sign * 0.08, hip, 0.06, 0.07), st["legs"], label, depth=z)
        cv.polygon(quad(0.0, hip - 0.03, 0.0, shoulder, 0.16, 0.2), st["shirt"], label, depth=z)
        for sign in (-1, 1):
            cv.polygon(quad(sign * 0.215, shoulder - 0.03, sign * 0.24, 0.48 * hp, 0.045, 0.04), np.asarray(st["shirt"]) * 0.9, label, depth=z)
    r = 0.07 * hp * px
    hx, hy = x0 + (0.03 * hp * st.get("direction", 0.0) if st["view"] == "side" else 0.0) * px, y0 - 0.9 * hp * px
    cv.ellipse(hx - r * 0.85, hy - r, hx + r * 0.85, hy + r, st["skin"], label, depth=z)
    cv.ellipse(hx - r * 0.85, hy - r, hx + r * 0.85, hy - r * 0.2, st["hair"])


def _draw_sign(cv: _Canvas, view: _View, z: float, d: float, thing: _Thing, label: int, night: bool) -> None:
    st = thing.style
    px = view.f / z
    x, y = view.project(d, z)
    xc, yc = view.project(d, z, st["height"])
    pole = max(0.07 * px, 0.45)
    cv.polygon(_rect(x - pole / 2, yc, x + pole / 2, y), (128, 130, 134), _OBJECT_SEG["traffic_sign"], depth=z)
    n = max(2, int(round(st["face"] * px)))
    rgb, alpha = _design_cached(st["name"], n * _SS)
    cv.paste(rgb, alpha, int(round(xc - n / 2)), int(round(yc - n / 2)), label, z, gain=1.8 if night else 1.0)


def _light_state(thing: _Thing, t: float) -> int:
    st = thing.style
    if not st["cycle"]:
        return st["state"]
    return (st["state"] + int((t + st["offset"]) // st["period"])) % 3


def _draw_light(cv: _Canvas, view: _View, z: float, d: float, thing: _Thing, t: float, label: int, night: bool) -> None:
    st = thing.style
    px = view.f / z
    x, y = view.project(d, z)
    bottom = st["height"]
    _, yb = view.project(d, z, bottom)
    _, yt = view.project(d, z, bottom + 1.05)
    pole = max(0.1 * px, 0.5)
    cv.polygon(_rect(x - pole / 2, yb, x + pole / 2, y), (70, 72, 76), _OBJECT_SEG["traffic_light"], depth=z)
    half = 0.28 * px
    cv.polygon(_rect(x - half, yt, x + half, yb), (30, 32, 34), label, depth=z)
    state = _light_state(thing, t)
    colors = ((255, 40, 30), (255, 170, 20), (40, 230, 90))
    r = 0.12 * px
    for k, rgb in enumerate(colors):
        cy = yt + (0.2 + 0.3 * k) * (yb - yt)
        on = k == state
        cv.ellipse(x - r, cy - r, x + r, cy + r, rgb if on else np.asarray(rgb) * 0.22, emit=on)
        if on:
            cv.lights.append((x, cy, max(r, 0.5) * 2.5, rgb, label))


# ----------------------------------------------------------------------------- light and weather


def _weather_look(rng: np.random.Generator, weather: str) -> dict:
    """Image-only parameters of one weather; drawn from their own generator so the layout never depends on them."""
    if weather == "day":
        gain = rng.uniform(0.92, 1.1)
        return dict(ambient=gain * (1 + rng.uniform(-0.04, 0.04, 3)), sky_top=_jitter(rng, (70, 130, 205), 0.12),
                    sky_bottom=_jitter(rng, (176, 206, 232), 0.06), noise=rng.uniform(2.0, 4.0),
                    clouds=rng.uniform([0.0, 0.0, 0.08, 0.03, 0.9], [1.0, 0.7, 0.25, 0.07, 1.0], (int(rng.integers(0, 5)), 5)))
    if weather == "night":
        return dict(ambient=rng.uniform(0.2, 0.3) * np.array([0.82, 0.88, 1.15]), sky_top=(6, 8, 18), sky_bottom=_jitter(rng, (40, 36, 48), 0.2),
                    noise=rng.uniform(3.5, 6.0), beam=rng.uniform(1.5, 2.6), clouds=())
    if weather == "rain":
        gain = rng.uniform(0.6, 0.78)
        return dict(ambient=gain * np.array([0.95, 0.98, 1.04]), sky_top=_jitter(rng, (110, 114, 122), 0.1), sky_bottom=_jitter(rng, (150, 152, 158), 0.08),
                    noise=rng.uniform(3.0, 5.0), contrast=rng.uniform(0.62, 0.8), slant=rng.uniform(-0.35, 0.35), streaks=rng.uniform(0.6, 1.2), clouds=())
    fog = _jitter(rng, (196, 199, 204), 0.06)
    return dict(ambient=rng.uniform(0.85, 1.0) * np.ones(3), sky_top=fog, sky_bottom=fog, fog=fog, fog_dist=rng.uniform(14.0, 40.0),
                noise=rng.uniform(2.0, 3.5), clouds=())


def _ground_depth(w: _World) -> np.ndarray:
    """Distance of the flat ground seen at each row (sky above the horizon), the depth layer's starting point."""
    rows = np.arange(w.height, dtype=np.float64) - w.horizon
    depth = np.where(rows > 0.05, w.f * w.cam_h / np.maximum(rows, 0.05), _SKY_DEPTH)
    return np.ascontiguousarray(np.broadcast_to(depth[:, None], (w.height, w.width)).astype(np.float32))


def _finish(cv: _Canvas, w: _World, look: dict, weather: str, rng: np.random.Generator) -> np.ndarray:
    img = np.asarray(cv.image.reduce(_SS), np.float32)
    H, W = cv.height, cv.width
    if weather == "fog":
        keep = np.exp(-np.asarray(cv.depth, np.float32) / np.float32(look["fog_dist"]))[..., None]
        img = img * keep + np.asarray(look["fog"], np.float32) * (1 - keep)
    elif weather == "rain":
        mean = img.mean((0, 1), keepdims=True)
        img = mean + (img - mean) * np.float32(look["contrast"])
        img = np.asarray(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6)), np.float32)
    elif weather == "night":
        yy = (np.arange(H, dtype=np.float32)[:, None] - H) / np.float32(0.45 * max(H - w.horizon, 1.0))
        xx = (np.arange(W, dtype=np.float32)[None, :] - np.float32(w.cx)) / np.float32(0.4 * W)
        beam = np.exp(-(xx * xx + yy * yy)) * (np.arange(H)[:, None] > w.horizon)
        img = img * (1 + np.float32(look["beam"]) * beam[..., None])
        labels = np.asarray(cv.label)
        for x, y, radius, rgb, owner in cv.lights:
            px, py = int(round(x)), int(round(y))
            if not (0 <= px < W and 0 <= py < H) or labels[py, px] != owner:
                continue  # hidden behind something nearer, or out of the frame
            sigma = max(radius, 0.8)
            x0, x1 = max(0, int(x - 3 * sigma)), min(W, int(x + 3 * sigma) + 2)
            y0, y1 = max(0, int(y - 3 * sigma)), min(H, int(y + 3 * sigma) + 2)
            if x0 >= x1 or y0 >= y1:
                continue
            gx = np.exp(-0.5 * ((np.arange(x0, x1, dtype=np.float32) - x) / sigma) ** 2)
            gy = np.exp(-0.5 * ((np.arange(y0, y1, dtype=np.float32) - y) / sigma) ** 2)
            img[y0:y1, x0:x1] += (0.7 * gy[:, None, None] * gx[None, :, None]) * np.asarray(rgb, np.float32)
    if weather == "rain":
        streaks = Image.new("L", (W, H))
        draw = ImageDraw.Draw(streaks)
        count = int(H * W / 60 * look["streaks"])
        xs, ys = rng.uniform(-5, W + 5, count), rng.uniform(-5, H, count)
        lengths = rng.uniform(2.0, 7.0, count) * H / 96
        values = rng.integers(25, 70, count)
        for x, y, length, v in zip(xs, ys, lengths, values):
            draw.line([(x, y), (x + look["slant"] * length, y + length)], fill=int(v))
        img += np.asarray(streaks, np.float32)[..., None] * np.array([0.75, 0.8, 0.88], np.float32)
    img += rng.standard_normal((H, W, 3), dtype=np.float32) * np.float32(look["noise"])
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _frame(w: _World, look: dict, weather: str, t: float, rng: np.random.Generator) -> Scene:
    view = _View(w)
    s_cam = w.speed * t
    night = weather == "night"
    cv = _Canvas(w.height, w.width, look["sky_top"], look["sky_bottom"], w.horizon, look["ambient"], weather == "fog", _ground_depth(w) if weather == "fog" else None)
    for cx, cy, rx, ry, tone in look["clouds"]:
        cx, cy, rx, ry = cx * w.width, cy * w.horizon, rx * w.width, ry * w.height
        cv.ellipse(cx - rx, cy - ry, cx + rx, cy + ry, np.array([235.0, 240.0, 246.0]) * tone)
    _draw_ground(cv, w, view, s_cam)
    _draw_skyline(cv, w, view)
    outlines = _block_outlines(w, view, s_cam)
    side = sorted([(b.s0 - s_cam, 0, i) for i, b in enumerate(w.blocks)] + [(tr.s - s_cam, 1, i) for i, tr in enumerate(w.trees)], key=lambda e: -e[0])
    for _, what, i in side:
        if what == 0:
            _draw_block(cv, view, w.blocks[i], s_cam, night, tuple(o[i] for o in outlines))
        else:
            _draw_tree(cv, view, w.trees[i], s_cam)
    placed = []
    for thing in w.things:
        z = float(thing.s_at(t)) - s_cam
        if 1.0 <= z <= 120.0:
            placed.append((z, float(thing.d_at(t)), thing))
    placed.sort(key=lambda e: -e[0])
    kinds = []
    for z, d, thing in placed:
        inst = len(kinds) + 1
        label = _OBJECT_SEG[thing.kind] + _INSTANCE * inst
        if thing.kind == "vehicle":
            _draw_vehicle(cv, view, z, d, thing, label, night)
        elif thing.kind == "pedestrian":
            _draw_pedestrian(cv, view, z, d, thing, t, label)
        elif thing.kind == "traffic_sign":
            _draw_sign(cv, view, z, d, thing, label, night)
        else:
            _draw_light(cv, view, z, d, thing, t, label, night)
        kinds.append(DETECTION_CLASSES.index(thing.kind))
    image = _finish(cv, w, look, weather, rng)
    labels = np.asarray(cv.label, np.uint8)
    boxes, classes = _boxes(labels, kinds)
    return Scene(image=image, mask=labels % _INSTANCE, boxes=boxes, labels=classes, weather=weather)


def _boxes(labels: np.ndarray, kinds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Tight boxes of each object's visible pixels; objects too small to box are left out."""
    inst = labels // _INSTANCE
    counts = np.bincount(inst.ravel(), minlength=len(kinds) + 1)
    boxes, classes = [], []
    for k, cls in enumerate(kinds, start=1):
        if counts[k] < _MIN_AREA:
            continue
        hit = inst == k
        rows, cols = np.flatnonzero(hit.any(1)), np.flatnonzero(hit.any(0))
        box = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
        if box[2] - box[0] < _MIN_SIDE or box[3] - box[1] < _MIN_SIDE:
            continue
        boxes.append(box)
        classes.append(cls)
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int32)


def _pick_weather(rng: np.random.Generator, weather: str | None) -> str:
    """The seed's weather unless one is given; drawn either way, so naming the seed's own weather changes nothing."""
    drawn = WEATHERS[int(rng.integers(len(WEATHERS)))]
    return weather or drawn


def _streams(seed: int):
    layout, look, noise = np.random.default_rng(seed).spawn(3)
    return layout, look, noise


# ----------------------------------------------------------------------------- public scene API


def render_scene(seed: int, height: int = 96, width: int = 160, weather: str | None = None) -> Scene:
    """One road scene; the same seed gives the same layout (mask, boxes) whatever `weather` is.

    Args:
        seed: int. Layout, weather (when None), light and noise all follow from it.
        height, width: int. Frame size in pixels, multiples of 8 and at least 32.
        weather: one of WEATHERS, or None to draw one from the seed.
    """
    _check_frame_size(height, width)
    _check_weather(weather)
    layout, look_rng, noise = _streams(seed)
    world = _build_world(layout, height, width, frames=1, dt=1.0 / _CLIP_FPS)
    weather = _pick_weather(look_rng, weather)
    return _frame(world, _weather_look(look_rng, weather), weather, 0.0, noise)


def render_clip(seed: int, frames: int = 50, height: int = 96, width: int = 160, weather: str | None = None, *, fps: float = _CLIP_FPS) -> list[Scene]:
    """Frames of one drive along one road: the camera moves forward at `fps` frames a second and objects move.

    Args:
        seed: int. The road, its objects and their motion, the weather (when None) and the noise.
        frames: int. Number of frames, at least 1.
        height, width: int. Frame size, multiples of 8 and at least 32.
        weather: one of WEATHERS, or None to draw one; it holds for the whole clip.
        fps: frames a second of the timeline the motion is sampled on.
    """
    frames = _check_count("frames", frames, 1)
    _check_frame_size(height, width)
    _check_weather(weather)
    if not fps > 0:
        raise ValueError(f"fps must be > 0. Received: fps={fps!r}")
    layout, look_rng, noise = _streams(seed)
    world = _build_world(layout, height, width, frames=frames, dt=1.0 / float(fps))
    weather = _pick_weather(look_rng, weather)
    look = _weather_look(look_rng, weather)
    return [_frame(world, look, weather, float(t), noise) for t in world.times]


def _scene_seeds(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**31 - 1, size=n)


def scene_set(n: int, seed: int, height: int = 96, width: int = 160) -> list[Scene]:
    """`n` independent scenes with weathers drawn per scene."""
    n = _check_count("n", n, 0)
    _check_frame_size(height, width)
    return [render_scene(int(s), height, width) for s in _scene_seeds(n, seed)]


# ----------------------------------------------------------------------------- traffic signs

_BLUE, _RED, _WHITE, _YELLOW, _DARK = (20, 78, 168), (204, 26, 32), (246, 246, 244), (250, 192, 24), (22, 22, 24)
_MIRRORED = {"turn_left": "turn_right", "keep_left": "keep_right"}
_DESIGN_SS = 4


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@lru_cache(maxsize=1)
def _font_or_none():
    try:
        return ImageFont.load_default(size=64)
    except (OSError, ImportError, TypeError):
        return None


@lru_cache(maxsize=512)
def _design_cached(name: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    if name in _MIRRORED:
        rgb, alpha = _design_cached(_MIRRORED[name], size)
        return _frozen(rgb[:, ::-1]), _frozen(alpha[:, ::-1])
    n = size * _DESIGN_SS
    c, R = (n - 1) / 2, n / 2 - 0.6 * _DESIGN_SS

    def P(pts):
        return [(c + u * R, c + v * R) for u, v in pts]

    rim = {"stop": _WHITE, "yield": _RED, "no_entry": _WHITE, "priority_road": _DARK, "pedestrian_crossing": _WHITE}.get(name, _WHITE)
    im = Image.new("RGB", (n, n), rim)
    a = Image.new("L", (n, n), 0)
    draw, mask = ImageDraw.Draw(im), ImageDraw.Draw(a)

    def shape(kind, pts, fill, outer=False):
        getattr(draw, kind)(pts, fill=fill)
        if outer:
            getattr(mask, kind)(pts, fill=255)

    def circle(r, fill, outer=False):
        shape("ellipse", [c - r * R, c - r * R, c + r * R, c + r * R], fill, outer)

    def polygon(pts, fill, outer=False):
        shape("polygon", P(pts), fill, outer)

    def line(pts, width, fill=_WHITE):
        draw.line(P(pts), fill=fill, width=max(1, int(round(width * R))), joint="curve")

    if name == "stop":
        octagon = [(math.cos(math.pi / 8 + k * math.pi / 4), math.sin(math.pi / 8 + k * math.pi / 4)) for k in range(8)]
        polygon(octagon, _WHITE, outer=True)
        polygon([(0.88 * u, 0.88 * v) for u, v in octagon], _RED)
        font = _font_or_none()
        if font is not None:
            text = Image.new("L", (320, 110), 0)
            ImageDraw.Draw(text).text((160, 55), "STOP", fill=255, font=font, anchor="mm")
            text = text.crop(text.getbbox() or (0, 0, 320, 110)).resize((int(1.3 * R), int(0.46 * R)), Image.BILINEAR)
            im.paste(_WHITE, (int(c - text.width / 2), int(c - text.height / 2)), text)
        else:
            draw.rectangle([c - 0.62 * R, c - 0.2 * R, c + 0.62 * R, c + 0.2 * R], fill=_WHITE)
    elif name == "yield":
        tri = [(-1.0, -0.8), (1.0, -0.8), (0.0, 0.932)]
        polygon(tri, _RED, outer=True)
        cy = sum(v for _, v in tri) / 3
        polygon([(0.56 * u, cy + 0.56 * (v - cy)) for u, v in tri], _WHITE)
    elif name == "no_entry":
        circle(1.0, _WHITE, outer=True)
        circle(0.92, _RED)
        polygon([(-0.64, -0.16), (0.64, -0.16), (0.64, 0.16), (-0.64, 0.16)], _WHITE)
    elif name == "priority_road":
        diamond = [(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)]
        polygon(diamond, _DARK, outer=True)
        for scale, fill in ((0.94, _WHITE), (0.66, _DARK), (0.61, _YELLOW)):
            polygon([(scale * u, scale * v) for u, v in diamond], fill)
    elif name == "pedestrian_crossing":
        shape("rounded_rectangle", [c - R, c - R, c + R, c + R], _WHITE, outer=True)
        draw.rounded_rectangle([c - 0.9 * R, c - 0.9 * R, c + 0.9 * R, c + 0.9 * R], radius=0.12 * R, fill=_BLUE)
        polygon([(0.0, -0.76), (-0.8, 0.64), (0.8, 0.64)], _WHITE)
        for u0 in (-0.5, -0.17, 0.16):
            polygon([(u0, 0.5), (u0 + 0.22, 0.5), (u0 + 0.22, 0.57), (u0, 0.57)], _DARK)
        line([(0.0, -0.1), (-0.05, 0.2)], 0.1, _DARK)
        line([(-0.05, 0.2), (-0.22, 0.46)], 0.08, _DARK)
        line([(-0.05, 0.2), (0.14, 0.46)], 0.08, _DARK)
        line([(-0.22, 0.1), (0.0, -0.04), (0.2, 0.08)], 0.07, _DARK)
        circle(0.0, _DARK)
        draw.ellipse([c + 0.0 * R - 0.09 * R, c - 0.29 * R, c + 0.09 * R, c - 0.11 * R], fill=_DARK)
    else:  # the blue, round mandatory signs
        circle(1.0, _WHITE, outer=True)
        circle(0.92, _BLUE)
        if name == "ahead_only":
            polygon([(-0.13, -0.2), (0.13, -0.2), (0.13, 0.68), (-0.13, 0.68)], _WHITE)
            polygon([(-0.45, -0.12), (0.45, -0.12), (0.0, -0.7)], _WHITE)
        elif name == "turn_right":
            arc = [(0.05 + 0.33 * math.cos(a), 0.0 + 0.33 * math.sin(a)) for a in np.linspace(math.pi, 1.5 * math.pi, 7)]
            line([(-0.28, 0.7), (-0.28, 0.0), *arc[1:], (0.2, -0.33)], 0.26)
            polygon([(0.18, -0.68), (0.18, 0.02), (0.66, -0.33)], _WHITE)
        elif name == "keep_right":
            line([(-0.5, -0.5), (0.16, 0.16)], 0.26)
            e, p = np.array([1.0, 1.0]) / math.sqrt(2), np.array([1.0, -1.0]) / math.sqrt(2)
            base = np.array([0.1, 0.1])
            polygon([tuple(base + 0.4 * p), tuple(base - 0.4 * p), tuple(base + 0.6 * e)], _WHITE)
        else:
            raise ValueError(f"unknown sign class {name!r}; expected one of {SIGN_CLASSES}")
    rgb = np.asarray(im.reduce(_DESIGN_SS), np.uint8)
    alpha = np.asarray(a.reduce(_DESIGN_SS), np.uint8)
    return _frozen(rgb), _frozen(alpha)


def _sign_design(name: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The flat design of one sign class without jitter: (rgb uint8 [size, size, 3], alpha uint8 [size, size]).

    Mirror pairs are drawn once and flipped, so `turn_left` is `turn_right` mirrored, pixel for pixel.
    """
    if name not in SIGN_CLASSES:
        raise ValueError(f"name must be one of {SIGN_CLASSES}. Received: name={name!r}")
    rgb, alpha = _design_cached(name, _check_count("size", size, 2))
    return rgb.copy(), alpha.copy()


def _clutter(rng: np.random.Generator, size: int) -> Image.Image:
    """A busy background: sky, foliage or facade colours with shapes, a pole, a little blur."""
    palettes = (((90, 140, 200), (190, 210, 230)), ((40, 80, 40), (110, 140, 70)), ((90, 88, 86), (170, 160, 150)), ((60, 60, 70), (140, 120, 100)))
    top, bottom = (np.asarray(col, np.float32) for col in palettes[int(rng.integers(len(palettes)))])
    rows = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    base = (top * (1 - rows) + bottom * rows) * np.float32(rng.uniform(0.7, 1.2))
    im = Image.fromarray(np.clip(np.broadcast_to(base, (size, size, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(4, 12))):
        color = _rgb(rng.uniform(20, 235, 3))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.6, 2) * size
        kind = int(rng.integers(4))
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=color)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=color)
        elif kind == 2:
            draw.polygon([tuple(p) for p in rng.uniform(-0.1, 1.1, (3, 2)) * size], fill=color)
        else:
            draw.line([(x0, y0), (x0 + w, y0 + h)], fill=color, width=int(rng.integers(1, 4)))
    if rng.random() < 0.5:
        x = size / 2 + rng.uniform(-0.1, 0.1) * size
        draw.rectangle([x - size * 0.04, size / 2, x + size * 0.04, size], fill=_rgb(rng.uniform(90, 160) * np.ones(3)))
    return im.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.0)))


def _render_sign(rng: np.random.Generator, index: int, size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A jittered crop of sign class `index` and the sign's bounds in it (x1, y1, x2, y2, inclusive)."""
    im = _clutter(rng, size)
    n = max(6, int(round(rng.uniform(0.6, 0.95) * size)))
    rgb, alpha = _design_cached(SIGN_CLASSES[index], n)
    light = np.clip(rgb.astype(np.float32) * np.float32(rng.uniform(0.75, 1.15)), 0, 255).astype(np.uint8)
    face = Image.fromarray(np.dstack([light, alpha]))
    face = face.convert("RGBa").rotate(rng.uniform(-10.0, 10.0), resample=Image.BICUBIC, expand=True).convert("RGBA")
    slack = max(1.0, (size - n) / 2 * 0.8)
    cx, cy = size / 2 + rng.uniform(-1, 1) * slack, size / 2 + rng.uniform(-1, 1) * slack
    x0, y0 = int(round(cx - face.width / 2)), int(round(cy - face.height / 2))
    im.paste(face, (x0, y0), face)
    solid = np.asarray(face.getchannel("A")) >= 128
    rows, cols = np.flatnonzero(solid.any(1)) + y0, np.flatnonzero(solid.any(0)) + x0
    roi = (int(np.clip(cols[0], 0, size - 1)), int(np.clip(rows[0], 0, size - 1)),
           int(np.clip(cols[-1], 0, size - 1)), int(np.clip(rows[-1], 0, size - 1)))
    arr = np.asarray(im, np.float32)
    mean = arr.mean()
    arr = mean + (arr - mean) * np.float32(rng.uniform(0.7, 1.25))
    arr = arr * np.float32(rng.uniform(0.6, 1.3)) * (1 + rng.uniform(-0.06, 0.06, 3)).astype(np.float32)
    if rng.random() < 0.3:
        arr = np.asarray(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9))), np.float32)
    arr += rng.standard_normal(arr.shape, dtype=np.float32) * np.float32(rng.uniform(2.0, 8.0))
    return np.clip(arr + 0.5, 0, 255).astype(np.uint8), roi


def _check_sign_size(size) -> int:
    return _check_count("size", size, 16)


def render_sign(seed: int, size: int = 32) -> tuple[np.ndarray, int]:
    """A sign crop (uint8 [size, size, 3]) and its index into SIGN_CLASSES; the class follows from the seed."""
    size = _check_sign_size(size)
    rng = np.random.default_rng(seed)
    index = int(rng.integers(len(SIGN_CLASSES)))
    return _render_sign(rng, index, size)[0], index


def _sign_samples(n: int, seed: int, size: int):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.resize(np.arange(len(SIGN_CLASSES), dtype=np.int32), n)) if n else np.zeros(0, np.int32)
    for label, child in zip(labels, rng.spawn(n)):
        image, roi = _render_sign(child, int(label), size)
        yield image, int(label), roi


def sign_set(n: int, seed: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """`n` sign crops balanced over SIGN_CLASSES (counts differ by at most one), shuffled."""
    n = _check_count("n", n, 0)
    size = _check_sign_size(size)
    images = np.zeros((n, size, size, 3), np.uint8)
    labels = np.zeros(n, np.int32)
    for i, (image, label, _) in enumerate(_sign_samples(n, seed, size)):
        images[i], labels[i] = image, label
    return images, labels


# ----------------------------------------------------------------------------- writers


def _stem(i: int) -> str:
    return f"scene_{i:05d}"


def write_cityscapes_style(out_dir: Path, n: int, seed: int, height: int = 96, width: int = 160, palette: bool = False) -> Path:
    """`images/<stem>.png` and `labels/<stem>.png` (class ids in mode L, or with `palette` the class colours in RGB)."""
    n = _check_count("n", n, 0)
    _check_frame_size(height, width)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "labels").mkdir(parents=True, exist_ok=True)
    colors = np.zeros((256, 3), np.uint8)
    for c in SEGMENTATION_CLASSES:
        colors[c.id] = c.color
    for i, s in enumerate(_scene_seeds(n, seed)):
        scene = render_scene(int(s), height, width)
        Image.fromarray(scene.image).save(out_dir / "images" / f"{_stem(i)}.png")
        label = Image.fromarray(colors[scene.mask]) if palette else Image.fromarray(scene.mask)
        label.save(out_dir / "labels" / f"{_stem(i)}.png")
    return out_dir


def write_coco(out_dir: Path, n: int, seed: int, height: int = 96, width: int = 160) -> Path:
    """`images/<stem>.png` and `annotations.json` in COCO detection format (category ids 1.. in DETECTION_CLASSES order)."""
    n = _check_count("n", n, 0)
    _check_frame_size(height, width)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i, s in enumerate(_scene_seeds(n, seed)):
        scene = render_scene(int(s), height, width)
        name = f"{_stem(i)}.png"
        Image.fromarray(scene.image).save(out_dir / "images" / name)
        images.append({"id": i + 1, "file_name": name, "width": width, "height": height})
        for (x0, y0, x1, y1), label in zip(scene.boxes.tolist(), scene.labels.tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(label) + 1,
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    categories = [{"id": k + 1, "name": name, "supercategory": "road"} for k, name in enumerate(DETECTION_CLASSES)]
    path = out_dir / "annotations.json"
    info = {"description": "synthetic road scenes (dlsuite driving demo data)", "version": "1.0"}
    path.write_text(json.dumps({"info": info, "images": images, "annotations": annotations, "categories": categories}), encoding="utf-8")
    return path


def write_gtsrb_style(out_dir: Path, n: int, seed: int, size: int = 32) -> Path:
    """The GTSRB training layout: a folder per class with PNG crops and a `GT-<class>.csv`, plus `classes.csv`."""
    n = _check_count("n", n, 0)
    size = _check_sign_size(size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[int, list] = {k: [] for k in range(len(SIGN_CLASSES))}
    for image, label, roi in _sign_samples(n, seed, size):
        folder = out_dir / f"{label:05d}"
        folder.mkdir(exist_ok=True)
        name = f"{label:05d}_{len(rows[label]):05d}.png"
        Image.fromarray(image).save(folder / name)
        rows[label].append([name, size, size, *roi, label])
    for label, entries in rows.items():
        if not entries:
            continue
        with open(out_dir / f"{label:05d}" / f"GT-{label:05d}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter=";")
            writer.writerow(["Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"])
            writer.writerows(entries)
    with open(out_dir / "classes.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ClassId", "name"])
        writer.writerows(enumerate(SIGN_CLASSES))
    return out_dir


def write_clip(path: Path, seed: int, seconds: float = 10.0, fps: int = 10, height: int = 96, width: int = 160, weather: str | None = None) -> Path:
    """An MPEG-4 file of `render_clip` (round(seconds * fps) frames), through `shared.inputs.video.write_frames`."""
    from shared.inputs.video import write_frames

    fps = _check_count("fps", fps, 1)
    frames = int(round(float(seconds) * fps))
    if frames < 1:
        raise ValueError(f"seconds * fps must give at least one frame. Received: seconds={seconds!r}, fps={fps!r}")
    scenes = render_clip(seed, frames=frames, height=height, width=width, weather=weather, fps=fps)
    return write_frames(Path(path), np.stack([s.image for s in scenes]), fps)
