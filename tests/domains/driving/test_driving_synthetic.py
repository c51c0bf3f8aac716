import json
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from domains.driving.classes import DETECTION_CLASSES, SEGMENTATION_CLASSES, SIGN_CLASSES
from domains.driving.synthetic import (
    WEATHERS,
    Scene,
    _sign_design,
    render_clip,
    render_scene,
    render_sign,
    scene_set,
    sign_set,
    write_cityscapes_style,
    write_clip,
    write_coco,
    write_gtsrb_style,
)

SEG = {c.name: c.id for c in SEGMENTATION_CLASSES}
OBJECT_SEG = {name: SEG[name] for name in DETECTION_CLASSES}


@pytest.fixture(scope="module")
def scenes():
    return scene_set(40, seed=0)


def assert_scenes_equal(a: Scene, b: Scene):
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.weather == b.weather


def test_same_seed_gives_identical_scene_and_other_seed_differs():
    assert_scenes_equal(render_scene(7), render_scene(7))
    other = render_scene(8)
    assert not np.array_equal(render_scene(7).image, other.image)
    assert not np.array_equal(render_scene(7).mask, other.mask)


def test_shapes_and_dtypes():
    for height, width in ((96, 160), (64, 128), (32, 32)):
        scene = render_scene(3, height, width)
        assert scene.image.shape == (height, width, 3) and scene.image.dtype == np.uint8
        assert scene.mask.shape == (height, width) and scene.mask.dtype == np.uint8
        assert scene.boxes.ndim == 2 and scene.boxes.shape[1] == 4 and scene.boxes.dtype == np.float32
        assert scene.labels.shape == (len(scene.boxes),) and scene.labels.dtype == np.int32
        assert scene.weather in WEATHERS


def test_every_mask_pixel_is_a_class_and_the_road_layout_is_there(scenes):
    for scene in scenes:
        assert scene.mask.max() < len(SEGMENTATION_CLASSES)
    for name in ("road", "sky", "lane_marking", "sidewalk"):
        present = sum(bool((s.mask == SEG[name]).any()) for s in scenes)
        assert present >= 36, (name, present)
    # Sky above the road: the road's top row lies below the sky's bottom row on average.
    for scene in scenes:
        sky_rows = np.flatnonzero((scene.mask == SEG["sky"]).any(1))
        road_rows = np.flatnonzero((scene.mask == SEG["road"]).any(1))
        assert sky_rows.min() < road_rows.min() and road_rows.max() == scene.mask.shape[0] - 1


def test_roads_bend_both_ways(scenes):
    shifts = []
    for scene in scenes:
        rows = np.flatnonzero((scene.mask == SEG["road"]).any(1))
        centre = [np.flatnonzero(scene.mask[r] == SEG["road"]).mean() for r in rows]
        shifts.append(np.mean(centre[:6]) - np.mean(centre[-6:]))
    assert min(shifts) < -8 and max(shifts) > 8, np.round(shifts, 1)


def test_boxes_are_inside_the_image_tight_and_dominated_by_their_class(scenes):
    fractions = []
    for scene in scenes:
        height, width = scene.mask.shape
        assert len(scene.boxes) <= 6
        assert set(scene.labels.tolist()) <= set(range(len(DETECTION_CLASSES)))
        for (x0, y0, x1, y1), label in zip(scene.boxes.astype(int), scene.labels):
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            assert x1 - x0 >= 3 and y1 - y0 >= 3
            region = scene.mask[y0:y1, x0:x1] == OBJECT_SEG[DETECTION_CLASSES[label]]
            assert region.sum() >= 12
            # Tight: every edge row and column of the box holds pixels of the class.
            assert region[0].any() and region[-1].any() and region[:, 0].any() and region[:, -1].any()
            fractions.append(region.mean())
        np.testing.assert_array_equal(scene.boxes, np.round(scene.boxes))
    fractions = np.array(fractions)
    assert len(fractions) >= 60
    assert fractions.min() >= 0.3, fractions.min()  # occluded objects keep only their visible part
    assert (fractions >= 0.5).mean() >= 0.95


def test_forty_scenes_cover_every_weather_and_detection_class(scenes):
    assert {s.weather for s in scenes} == set(WEATHERS)
    labels = np.concatenate([s.labels for s in scenes])
    assert set(labels.tolist()) == set(range(len(DETECTION_CLASSES)))
    assert sum(len(s.boxes) == 0 for s in scenes) < 15


def test_weather_changes_the_image_but_not_the_mask():
    for seed in (11, 12):
        by_weather = {w: render_scene(seed, weather=w) for w in WEATHERS}
        day = by_weather["day"]
        for weather, scene in by_weather.items():
            assert scene.weather == weather
            np.testing.assert_array_equal(scene.mask, day.mask)
            np.testing.assert_array_equal(scene.boxes, day.boxes)
            np.testing.assert_array_equal(scene.labels, day.labels)
        images = [s.image.astype(np.int16) for s in by_weather.values()]
        for i in range(len(images)):
            for j in range(i + 1, len(images)):
                assert np.abs(images[i] - images[j]).mean() > 10
        assert by_weather["night"].image.mean() < 0.5 * day.image.mean()
        assert by_weather["rain"].image.std() < day.image.std()
        saturation = {w: np.ptp(s.image.astype(np.int16), axis=2).mean() for w, s in by_weather.items()}
        assert saturation["fog"] < 0.7 * saturation["day"], saturation
    # weather=None draws one from the seed; naming that weather gives the same scene.
    drawn = render_scene(5)
    assert drawn.weather in WEATHERS
    assert_scenes_equal(drawn, render_scene(5, weather=drawn.weather))


def test_clip_keeps_the_road_and_moves_the_camera_and_objects():
    clip = render_clip(2, frames=12)
    assert len(clip) == 12 and all(isinstance(s, Scene) for s in clip)
    assert len({s.weather for s in clip}) == 1
    for a, b in zip(clip, clip[1:]):
        assert not np.array_equal(a.image, b.image)
    # Same road: the road covers about the same share of each frame; the markings scroll.
    road = [np.mean(s.mask == SEG["road"]) for s in clip]
    assert max(road) - min(road) < 0.08
    marking_0 = clip[0].mask == SEG["lane_marking"]
    moved = [np.sum((s.mask == SEG["lane_marking"]) != marking_0) for s in clip[1:]]
    assert max(moved) > 20, moved
    # Objects move: the box centres change from frame to frame.
    assert all(len(s.boxes) for s in clip)
    centres = [np.sort(((s.boxes[:, :2] + s.boxes[:, 2:]) / 2).ravel()) for s in clip]
    assert not np.array_equal(centres[0], centres[-1])
    assert sum(not np.array_equal(a, b) for a, b in zip(centres, centres[1:])) >= 8
    for scene in clip:
        assert scene.mask.max() < len(SEGMENTATION_CLASSES) and len(scene.boxes) <= 6


def test_clip_is_deterministic_and_weather_applies_to_all_frames():
    a = render_clip(4, frames=5, weather="fog")
    b = render_clip(4, frames=5, weather="fog")
    for x, y in zip(a, b):
        assert_scenes_equal(x, y)
    night = render_clip(4, frames=5, weather="night")
    for x, y in zip(a, night):
        np.testing.assert_array_equal(x.mask, y.mask)
        assert y.weather == "night" and y.image.mean() < x.image.mean()


def test_mirror_sign_pairs_are_exact_mirrors_and_designs_are_distinct():
    for left, right in (("turn_left", "turn_right"), ("keep_left", "keep_right")):
        rgb_l, alpha_l = _sign_design(left, 32)
        rgb_r, alpha_r = _sign_design(right, 32)
        np.testing.assert_array_equal(rgb_l, rgb_r[:, ::-1])
        np.testing.assert_array_equal(alpha_l, alpha_r[:, ::-1])
        assert np.abs(rgb_l.astype(int) - rgb_r.astype(int)).mean() > 5  # the arrow is not symmetric
    designs = {name: _sign_design(name, 32)[0].astype(int) for name in SIGN_CLASSES}
    names = list(designs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(designs[a] - designs[b]).mean() > 5, (a, b)
    # A few colours that define the classes.
    rgb, alpha = _sign_design("stop", 32)
    inside = alpha > 250
    assert (rgb[inside][:, 0] > 150).mean() > 0.5 and (rgb[inside][:, 2] < 90).mean() > 0.4
    rgb, alpha = _sign_design("ahead_only", 32)
    assert (rgb[alpha > 250][:, 2] > 130).mean() > 0.6
    rgb, alpha = _sign_design("priority_road", 32)
    assert alpha[0, 0] == 0 and alpha[16, 16] == 255 and tuple(rgb[16, 16])[:2] > (200, 150)


def test_render_sign_is_deterministic_with_the_class_from_the_seed():
    image, index = render_sign(9)
    again, index_again = render_sign(9)
    np.testing.assert_array_equal(image, again)
    assert index == index_again and 0 <= index < len(SIGN_CLASSES)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert render_sign(9, size=48)[0].shape == (48, 48, 3)
    seen = {render_sign(seed)[1] for seed in range(80)}
    assert seen == set(range(len(SIGN_CLASSES)))
    assert not np.array_equal(render_sign(1)[0], render_sign(2)[0])


def test_sign_set_is_balanced_and_deterministic():
    images, labels = sign_set(50, seed=1)
    assert images.shape == (50, 32, 32, 3) and images.dtype == np.uint8 and labels.dtype == np.int32
    assert np.bincount(labels, minlength=len(SIGN_CLASSES)).tolist() == [5] * len(SIGN_CLASSES)
    again, labels_again = sign_set(50, seed=1)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, labels_again)
    counts = np.bincount(sign_set(23, seed=2)[1], minlength=len(SIGN_CLASSES))
    assert counts.max() - counts.min() <= 1 and counts.sum() == 23
    assert sign_set(0, seed=0)[0].shape == (0, 32, 32, 3)
    # Crops of one class still vary (scale, rotation, light, background).
    same = images[labels == 0].astype(int)
    assert np.abs(same[0] - same[1]).mean() > 10


def test_cityscapes_writer_round_trips_images_and_labels(tmp_path):
    expected = scene_set(3, seed=5)
    root = write_cityscapes_style(tmp_path / "ids", n=3, seed=5)
    assert root == tmp_path / "ids"
    for i, scene in enumerate(expected):
        np.testing.assert_array_equal(np.asarray(Image.open(root / "images" / f"scene_{i:05d}.png")), scene.image)
        label = Image.open(root / "labels" / f"scene_{i:05d}.png")
        assert label.mode == "L"
        np.testing.assert_array_equal(np.asarray(label), scene.mask)
    root = write_cityscapes_style(tmp_path / "colours", n=3, seed=5, palette=True)
    by_color = {c.color: c.id for c in SEGMENTATION_CLASSES}
    for i, scene in enumerate(expected):
        label = Image.open(root / "labels" / f"scene_{i:05d}.png")
        assert label.mode == "RGB"
        rgb = np.asarray(label).reshape(-1, 3)
        ids = np.array([by_color[tuple(p)] for p in rgb.tolist()]).reshape(scene.mask.shape)
        np.testing.assert_array_equal(ids, scene.mask)


def test_coco_writer_is_loadable_by_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    expected = scene_set(6, seed=3)
    path = write_coco(tmp_path / "coco", n=6, seed=3)
    assert path == tmp_path / "coco" / "annotations.json"
    coco = COCO(str(path))
    assert sorted(coco.getCatIds()) == [1, 2, 3, 4]
    assert [coco.loadCats(i)[0]["name"] for i in (1, 2, 3, 4)] == list(DETECTION_CLASSES)
    assert len(coco.getAnnIds()) == sum(len(s.boxes) for s in expected) > 0
    for image_id, scene in enumerate(expected, start=1):
        info = coco.loadImgs(image_id)[0]
        assert (info["width"], info["height"]) == (160, 96)
        np.testing.assert_array_equal(np.asarray(Image.open(path.parent / "images" / info["file_name"])), scene.image)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        got = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns]).reshape(-1, 4)
        np.testing.assert_array_equal(got, scene.boxes)
        assert [a["category_id"] - 1 for a in anns] == scene.labels.tolist()
        assert all(a["iscrowd"] == 0 and a["area"] > 0 for a in anns)
    assert json.loads(path.read_text())["images"][0]["file_name"] == "scene_00000.png"


def test_gtsrb_writer_layout_and_csvs(tmp_path):
    images, labels = sign_set(30, seed=4)
    root = write_gtsrb_style(tmp_path / "gtsrb", n=30, seed=4)
    assert root == tmp_path / "gtsrb"
    names = pd.read_csv(root / "classes.csv")
    assert list(names.columns) == ["ClassId", "name"]
    assert names["name"].tolist() == list(SIGN_CLASSES) and names["ClassId"].tolist() == list(range(len(SIGN_CLASSES)))
    total = 0
    for label in range(len(SIGN_CLASSES)):
        folder = root / f"{label:05d}"
        table = pd.read_csv(folder / f"GT-{label:05d}.csv", sep=";")
        assert list(table.columns) == ["Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"]
        assert (table["ClassId"] == label).all() and (table["Width"] == 32).all() and (table["Height"] == 32).all()
        assert ((table["Roi.X1"] >= 0) & (table["Roi.X1"] < table["Roi.X2"]) & (table["Roi.X2"] < 32)).all()
        assert ((table["Roi.Y1"] >= 0) & (table["Roi.Y1"] < table["Roi.Y2"]) & (table["Roi.Y2"] < 32)).all()
        # The ROI spans most of the crop (the sign is 60-95 % of it).
        assert ((table["Roi.X2"] - table["Roi.X1"] + 1) >= 16).all()
        expected = images[labels == label]
        assert len(table) == len(expected)
        for i, name in enumerate(table["Filename"]):
            assert name == f"{label:05d}_{i:05d}.png"
            np.testing.assert_array_equal(np.asarray(Image.open(folder / name)), expected[i])
        total += len(table)
    assert total == 30


def test_write_clip_reads_back_with_the_expected_frame_count(tmp_path):
    from shared.inputs.video import read_frames

    path = write_clip(tmp_path / "clips" / "drive.mp4", seed=1, seconds=10.0, fps=10)
    assert path == tmp_path / "clips" / "drive.mp4" and path.is_file()
    frames, fps = read_frames(path, max_frames=200)
    assert frames.shape == (100, 96, 160, 3)
    assert fps == pytest.approx(10.0)
    # Lossy, but the decoded frames are the rendered ones.
    rendered = render_clip(1, frames=100)
    for i in (0, 50, 99):
        assert np.abs(frames[i].astype(np.int16) - rendered[i].image.astype(np.int16)).mean() < 6


def test_rendering_is_fast_enough_for_demo_sets():
    render_scene(0)
    start = time.perf_counter()
    for seed in range(30):
        render_scene(seed)
    assert (time.perf_counter() - start) / 30 < 0.1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: render_scene(0, height=50), "height=50"),
        (lambda: render_scene(0, height=24), "height=24"),
        (lambda: render_scene(0, width=100), "width=100"),
        (lambda: render_scene(0, weather="snow"), "'snow'"),
        (lambda: render_clip(0, frames=0), "frames=0"),
        (lambda: render_clip(0, frames=3, height=36), "height=36"),
        (lambda: scene_set(-1, seed=0), "n=-1"),
        (lambda: sign_set(4, seed=0, size=8), "size=8"),
        (lambda: render_sign(0, size=10), "size=10"),
        (lambda: _sign_design("speed_limit", 32), "speed_limit"),
        (lambda: write_clip("unused.mp4", seed=0, seconds=0.0), "seconds=0.0"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unknown_weather_lists_the_choices():
    with pytest.raises(ValueError) as info:
        render_scene(0, weather="hail")
    for weather in WEATHERS:
        assert weather in str(info.value)
    assert "height must be a multiple of 8 and >= 32. Received: height=50" in _message(lambda: render_scene(0, height=50))


def _message(call) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)
