import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.vision.centernet import (
    CenterNetLoss,
    decode_detections,
    decode_detections_padded,
    encode_targets,
    gaussian_radius,
    heatmap_focal_loss,
    masked_l1_loss,
)

DECODERS = [decode_detections, decode_detections_padded]
IMAGE_HW, OUTPUT_HW, STRIDE, CLASSES = (128, 160), (32, 40), 4, 3
# Centres deliberately off the stride grid, so the offsets matter.
BOXES = np.array([[8.5, 9.0, 41.0, 47.3], [60.2, 20.0, 101.0, 90.6], [10.0, 70.0, 30.8, 121.0], [120.0, 4.0, 158.0, 30.0]], np.float32)
LABELS = np.array([0, 2, 1, 2], np.int32)


def reference_radius(height, width, min_overlap=0.7):
    """CornerNet/CenterNet `gaussian_radius`, as published."""
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 16 * c2)) / 2
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 16 * min_overlap * c3)) / 2
    return min(r1, r2, r3)


def reference_heatmap(boxes, labels, image_hw, output_hw, num_classes):
    """CenterNet's `draw_umich_gaussian`, one box at a time (min radius 0)."""
    heatmap = np.zeros((*output_hw, num_classes))
    sy, sx = output_hw[0] / image_hw[0], output_hw[1] / image_hw[1]
    for (x1, y1, x2, y2), label in zip(boxes, labels):
        h, w = (y2 - y1) * sy, (x2 - x1) * sx
        radius = max(0, int(reference_radius(math.ceil(h), math.ceil(w))))
        diameter = 2 * radius + 1
        sigma = diameter / 6
        ys, xs = np.ogrid[-radius : radius + 1, -radius : radius + 1]
        gaussian = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
        x, y = int((x1 + x2) / 2 * sx), int((y1 + y2) / 2 * sy)
        left, right = min(x, radius), min(output_hw[1] - x, radius + 1)
        top, bottom = min(y, radius), min(output_hw[0] - y, radius + 1)
        window = heatmap[y - top : y + bottom, x - left : x + right, label]
        np.maximum(window, gaussian[radius - top : radius + bottom, radius - left : radius + right], out=window)
    return heatmap


def encoded(boxes=BOXES, labels=LABELS, **kwargs):
    targets = encode_targets(boxes, labels, IMAGE_HW, OUTPUT_HW, CLASSES, **kwargs)
    return {k: v.numpy() for k, v in targets.items()}


def test_gaussian_radius_matches_reference_formula():
    sizes = [(1, 1), (3, 7), (10, 10), (25.0, 4.0), (64, 90)]
    got = gaussian_radius(tf.constant([h for h, _ in sizes], tf.float32), tf.constant([w for _, w in sizes], tf.float32))
    np.testing.assert_allclose(got.numpy(), [reference_radius(h, w) for h, w in sizes], rtol=1e-5)


def test_targets_have_fixed_shapes_and_peaks_at_centres():
    t = encoded()
    assert {k: v.shape for k, v in t.items()} == {"heatmap": (32, 40, 3), "size": (32, 40, 2), "offset": (32, 40, 2), "mask": (32, 40, 1)}
    assert all(v.dtype == np.float32 for v in t.values())
    assert t["mask"].sum() == len(BOXES)
    for (x1, y1, x2, y2), label in zip(BOXES, LABELS):
        cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
        i, j = int(cy), int(cx)
        assert t["heatmap"][i, j, label] == 1.0
        assert t["mask"][i, j, 0] == 1.0
        np.testing.assert_allclose(t["size"][i, j], [(x2 - x1) / STRIDE, (y2 - y1) / STRIDE], rtol=1e-6)
        np.testing.assert_allclose(t["offset"][i, j], [cx - j, cy - i], atol=1e-5)
    assert (t["heatmap"] == 1.0).sum() == len(BOXES)
    assert t["size"][t["mask"][..., 0] == 0].max() == 0.0


def test_heatmap_matches_reference_drawing_including_overlaps():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 100, (12, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(4, 60, (12, 2))], axis=1).astype(np.float32)
    boxes = np.minimum(boxes, [IMAGE_HW[1], IMAGE_HW[0]] * 2)
    labels = rng.integers(0, CLASSES, 12).astype(np.int32)
    got = encoded(boxes, labels, min_radius=0)["heatmap"]
    np.testing.assert_allclose(got, reference_heatmap(boxes, labels, IMAGE_HW, OUTPUT_HW, CLASSES), atol=1e-6)


def test_no_boxes_gives_empty_targets():
    t = encoded(np.zeros((0, 4), np.float32), np.zeros((0,), np.int32))
    assert all(v.max() == 0.0 for v in t.values())
    assert t["heatmap"].shape == (32, 40, 3)


def test_clips_boxes_and_drops_degenerate_ones():
    boxes = np.array([[-20, -20, 20, 20], [50, 50, 50, 80], [200, 10, 300, 40]], np.float32)  # last one wholly outside
    t = encoded(boxes, np.array([0, 1, 2], np.int32))
    assert t["mask"].sum() == 1
    np.testing.assert_allclose(t["size"][2, 2], [5.0, 5.0])  # clipped to (0, 0, 20, 20)
    assert t["heatmap"][..., 1:].max() == 0.0


def test_shared_centre_cell_keeps_the_smaller_box_for_regression():
    boxes = np.array([[0, 0, 64, 64], [24, 24, 40, 40], [26, 26, 38, 38]], np.float32)  # all centred on cell (8, 8)
    t = encoded(boxes, np.array([0, 1, 0], np.int32))
    assert t["mask"].sum() == 1
    np.testing.assert_allclose(t["size"][8, 8], [3.0, 3.0])
    assert t["heatmap"][8, 8, 0] == 1.0 and t["heatmap"][8, 8, 1] == 1.0


def test_rejects_out_of_range_labels():
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes=3"):
        encoded(BOXES[:1], np.array([3], np.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="negative"):
        encoded(BOXES[:1], np.array([-1], np.int32))


def test_encodes_inside_tf_data_and_batches():
    images = [BOXES, np.zeros((0, 4), np.float32), BOXES[:2]]
    classes = [LABELS, np.zeros((0,), np.int32), LABELS[:2]]
    pixels = np.zeros((*IMAGE_HW, 3), np.uint8)
    dataset = tf.data.Dataset.from_generator(
        lambda: ((pixels, b, y) for b, y in zip(images, classes)),
        output_signature=(tf.TensorSpec([None, None, 3], tf.uint8), tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None], tf.int32)),
    )
    # The image size may be a tensor: here it is only known per element.
    dataset = dataset.map(lambda image, b, y: encode_targets(b, y, tf.shape(image)[:2], OUTPUT_HW, CLASSES)).batch(3)
    assert dataset.element_spec["heatmap"].shape.as_list() == [None, 32, 40, 3]
    batch = next(iter(dataset))
    np.testing.assert_array_equal(tf.reduce_sum(batch["mask"], axis=[1, 2, 3]).numpy(), [4, 0, 2])
    np.testing.assert_allclose(batch["heatmap"][0].numpy(), encoded()["heatmap"])


def reference_focal(gt, logits):
    """CenterNet's `_neg_loss` on sigmoid probabilities."""
    pred = 1 / (1 + np.exp(-logits.astype(np.float64)))
    pos = gt == 1
    pos_loss = (np.log(pred) * (1 - pred) ** 2)[pos].sum()
    neg_loss = (np.log(1 - pred) * pred**2 * (1 - gt) ** 4)[~pos].sum()
    num_pos = pos.sum()
    return -neg_loss if num_pos == 0 else -(pos_loss + neg_loss) / num_pos


def batch_targets():
    first = encoded()
    second = encoded(BOXES[1:2], LABELS[1:2])
    return {k: np.stack([first[k], second[k]]) for k in first}


def test_focal_loss_matches_reference():
    y = batch_targets()
    logits = np.random.default_rng(1).normal(size=y["heatmap"].shape).astype(np.float32)
    got = float(heatmap_focal_loss(y["heatmap"], logits))
    assert got == pytest.approx(reference_focal(y["heatmap"], logits), rel=1e-4)
    no_objects = np.zeros_like(y["heatmap"])
    empty = float(heatmap_focal_loss(no_objects, logits))
    assert math.isfinite(empty) and empty == pytest.approx(reference_focal(no_objects, logits), rel=1e-4)
    probs = 1 / (1 + np.exp(-logits))
    assert float(heatmap_focal_loss(y["heatmap"], probs, from_logits=False)) == pytest.approx(got, rel=1e-3)


def test_focal_loss_is_lower_for_better_predictions():
    y = batch_targets()["heatmap"]
    good = np.where(y == 1, 6.0, -6.0).astype(np.float32)
    assert float(heatmap_focal_loss(y, good)) < 0.05 < float(heatmap_focal_loss(y, np.zeros_like(good)))


def test_masked_l1_counts_centre_cells_only():
    y = batch_targets()
    noisy = y["size"] + 3.0  # off by 3 everywhere, including away from centres
    assert float(masked_l1_loss(y["size"], noisy, y["mask"])) == pytest.approx(3.0, rel=1e-4)
    assert float(masked_l1_loss(y["size"], y["size"], y["mask"])) == 0.0
    empty = np.zeros_like(y["mask"])
    assert float(masked_l1_loss(y["size"], noisy, empty)) == 0.0


def test_centernet_loss_combines_weighted_terms():
    y = batch_targets()
    rng = np.random.default_rng(2)
    pred = {k: rng.normal(size=y[k].shape).astype(np.float32) for k in ("heatmap", "size", "offset")}
    loss = CenterNetLoss(size_weight=0.1, offset_weight=1.0)
    parts = loss.components(y, pred)
    expected = float(parts["heatmap"]) + 0.1 * float(parts["size"]) + float(parts["offset"])
    assert float(loss(y, pred)) == pytest.approx(expected, rel=1e-5)
    assert float(parts["heatmap"]) == pytest.approx(reference_focal(y["heatmap"], pred["heatmap"]), rel=1e-4)

    restored = CenterNetLoss.from_config(CenterNetLoss(size_weight=0.5, offset_weight=2.0, name="det").get_config())
    assert (restored.size_weight, restored.offset_weight, restored.name) == (0.5, 2.0, "det")
    assert keras.losses.deserialize(keras.losses.serialize(restored)).get_config() == restored.get_config()
    with pytest.raises(KeyError, match="mask"):
        loss({k: y[k] for k in ("heatmap", "size", "offset")}, pred)
    with pytest.raises(ValueError, match="size_weight"):
        CenterNetLoss(size_weight=-1)


def test_centernet_loss_is_float32_for_float16_predictions():
    y = batch_targets()
    rng = np.random.default_rng(3)
    pred = {k: rng.normal(size=y[k].shape).astype(np.float32) for k in ("heatmap", "size", "offset")}
    half = {k: tf.constant(v, tf.float16) for k, v in pred.items()}
    full = CenterNetLoss()(y, {k: tf.cast(v, tf.float32) for k, v in half.items()})
    value = CenterNetLoss()(y, half)
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(float(full), rel=1e-5)


def test_trains_through_compute_loss_override():
    keras.utils.set_random_seed(0)

    class Detector(keras.Model):
        def __init__(self):
            super().__init__()
            self.backbone = keras.layers.Conv2D(8, 3, strides=4, padding="same", activation="relu")
            self.heads = {
                "heatmap": keras.layers.Conv2D(CLASSES, 1, bias_initializer=keras.initializers.Constant(-2.19)),
                "size": keras.layers.Conv2D(2, 1),
                "offset": keras.layers.Conv2D(2, 1),
            }
            self.centernet_loss = CenterNetLoss()

        def call(self, x):
            features = self.backbone(x)
            return {name: head(features) for name, head in self.heads.items()}

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return self.centernet_loss(y, y_pred)

    y = batch_targets()
    images = np.random.default_rng(4).random((2, *IMAGE_HW, 3)).astype(np.float32)
    model = Detector()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(images, y, epochs=8, batch_size=2, verbose=0).history["loss"]
    assert all(math.isfinite(v) for v in history) and history[-1] < history[0]


@pytest.mark.parametrize("decoder", DECODERS)
def test_round_trip_recovers_boxes_and_classes(decoder):
    t = encoded()
    out = decoder(t["heatmap"][None], t["size"][None], t["offset"][None], STRIDE, max_detections=10, from_logits=False)
    n = int(out["num_detections"][0])
    assert n == len(BOXES)
    assert out["boxes"].shape == (1, 10, 4) and out["scores"].shape == (1, 10)
    assert out["classes"].dtype == tf.int32 and out["num_detections"].dtype == tf.int32
    boxes, classes = out["boxes"][0, :n].numpy(), out["classes"][0, :n].numpy()
    order = np.lexsort((boxes[:, 1], boxes[:, 0]))
    expected = np.lexsort((BOXES[:, 1], BOXES[:, 0]))
    np.testing.assert_allclose(boxes[order], BOXES[expected], atol=1.0)
    np.testing.assert_array_equal(classes[order], LABELS[expected])
    np.testing.assert_allclose(out["scores"][0, :n], 1.0)
    assert np.all(out["boxes"][0, n:].numpy() == 0) and np.all(out["scores"][0, n:].numpy() == 0)


@pytest.mark.parametrize("decoder", DECODERS)
def test_logits_and_probabilities_decode_alike(decoder):
    t = encoded()
    probs = np.clip(t["heatmap"][None], 1e-4, 1 - 1e-4)
    logits = np.log(probs / (1 - probs))
    a = decoder(probs, t["size"][None], t["offset"][None], STRIDE, max_detections=10, from_logits=False)
    b = decoder(logits, t["size"][None], t["offset"][None], STRIDE, max_detections=10)
    np.testing.assert_allclose(a["boxes"].numpy(), b["boxes"].numpy(), atol=1e-4)
    np.testing.assert_allclose(a["scores"].numpy(), b["scores"].numpy(), atol=1e-5)


def synthetic_outputs(second_class):
    """Two peaks 3 cells apart whose 10x10-cell boxes overlap at IoU ~0.54, plus a weak far peak."""
    heatmap = np.zeros((2, 32, 40, CLASSES), np.float32)
    size = np.full((2, 32, 40, 2), 10.0, np.float32)
    offset = np.full((2, 32, 40, 2), 0.5, np.float32)
    heatmap[0, 10, 10, 0] = 0.9
    heatmap[0, 10, 13, second_class] = 0.8
    heatmap[0, 25, 30, 1] = 0.04  # under the score threshold
    heatmap[1, 5, 5, 2] = 0.7
    return heatmap, size, offset


@pytest.mark.parametrize("decoder", DECODERS)
def test_nms_is_class_wise(decoder):
    same = decoder(*synthetic_outputs(second_class=0), STRIDE, max_detections=5, from_logits=False, iou_threshold=0.5)
    np.testing.assert_array_equal(same["num_detections"].numpy(), [1, 1])
    assert float(same["scores"][0, 0]) == pytest.approx(0.9)
    np.testing.assert_allclose(same["boxes"][0, 0].numpy(), [22, 22, 62, 62])
    np.testing.assert_allclose(same["boxes"][1, 0].numpy(), [2, 2, 42, 42])
    assert int(same["classes"][1, 0]) == 2

    different = decoder(*synthetic_outputs(second_class=1), STRIDE, max_detections=5, from_logits=False, iou_threshold=0.5)
    np.testing.assert_array_equal(different["num_detections"].numpy(), [2, 1])
    np.testing.assert_array_equal(different["classes"][0, :2].numpy(), [0, 1])
    np.testing.assert_allclose(different["scores"][0, :2].numpy(), [0.9, 0.8])

    loose = decoder(*synthetic_outputs(second_class=0), STRIDE, max_detections=5, from_logits=False, iou_threshold=0.6)
    np.testing.assert_array_equal(loose["num_detections"].numpy(), [2, 1])


def test_both_decoders_agree_on_random_outputs():
    rng = np.random.default_rng(5)
    logits = rng.normal(-3, 1.5, (2, 32, 40, CLASSES)).astype(np.float32)
    size = rng.uniform(1, 12, (2, 32, 40, 2)).astype(np.float32)
    offset = rng.uniform(0, 1, (2, 32, 40, 2)).astype(np.float32)
    kwargs = {"max_detections": 20, "score_threshold": 0.1, "top_k": 60}
    a = decode_detections(logits, size, offset, STRIDE, **kwargs)
    b = decode_detections_padded(logits, size, offset, STRIDE, **kwargs)
    np.testing.assert_array_equal(a["num_detections"].numpy(), b["num_detections"].numpy())
    assert int(a["num_detections"][0]) > 5
    for i, n in enumerate(a["num_detections"].numpy()):
        key_a = sorted(zip(a["classes"][i, :n].numpy(), np.round(a["scores"][i, :n].numpy(), 5)))
        key_b = sorted(zip(b["classes"][i, :n].numpy(), np.round(b["scores"][i, :n].numpy(), 5)))
        assert key_a == key_b


def serving_function(decoder, batch=2):
    signature = [
        tf.TensorSpec([batch, *OUTPUT_HW, CLASSES], tf.float32, name="heatmap"),
        tf.TensorSpec([batch, *OUTPUT_HW, 2], tf.float32, name="size"),
        tf.TensorSpec([batch, *OUTPUT_HW, 2], tf.float32, name="offset"),
    ]

    @tf.function(input_signature=signature)
    def serve(heatmap, size, offset):
        return decoder(heatmap, size, offset, STRIDE, max_detections=10)

    return serve


@pytest.mark.parametrize("decoder", DECODERS)
def test_traces_inside_tf_function_with_fixed_signature(decoder):
    serve = serving_function(decoder)
    concrete = serve.get_concrete_function()
    shapes = {k: v.shape.as_list() for k, v in concrete.structured_outputs.items()}
    assert shapes == {"boxes": [2, 10, 4], "scores": [2, 10], "classes": [2, 10], "num_detections": [2]}
    t = encoded()
    logits = np.where(t["heatmap"] == 1.0, 5.0, -5.0).astype(np.float32)
    out = serve(np.stack([logits, logits]), np.stack([t["size"]] * 2), np.stack([t["offset"]] * 2))
    np.testing.assert_array_equal(out["num_detections"].numpy(), [4, 4])


def tflite_convert(serve):
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], serve)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def test_only_the_padded_decoder_converts_to_tflite_builtins():
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    with pytest.raises(Exception, match="CombinedNonMaxSuppression"):  # the converter's error type varies by version
        tflite_convert(serving_function(decode_detections, batch=1))

    serve = serving_function(decode_detections_padded, batch=1)
    interpreter = Interpreter(
        model_content=tflite_convert(serve), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    op_names = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "TOPK_V2" in op_names and "MAX_POOL_2D" in op_names
    assert not any(name.startswith("Flex") or name == "CUSTOM" for name in op_names)

    t = encoded()
    inputs = {
        "heatmap": np.where(t["heatmap"] == 1.0, 5.0, -5.0).astype(np.float32)[None],
        "size": t["size"][None],
        "offset": t["offset"][None],
    }
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], inputs[detail["name"]])
    interpreter.invoke()
    # Outputs come in the flattened (sorted-key) order of the returned dict.
    lite = dict(zip(["boxes", "classes", "num_detections", "scores"], (interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details())))
    expected = serve(**inputs)
    np.testing.assert_array_equal(lite["num_detections"], [4])
    for key in ("boxes", "scores", "classes"):
        np.testing.assert_allclose(lite[key], expected[key].numpy(), atol=1e-4)


@pytest.mark.parametrize("decoder", DECODERS)
def test_boxes_without_area_are_dropped(decoder):
    # Probabilities read as logits: every cell scores >= 0.5, but away from centres the size map is 0.
    t = encoded()
    out = decoder(t["heatmap"][None], t["size"][None], t["offset"][None], STRIDE, max_detections=20)
    assert int(out["num_detections"][0]) == len(BOXES)


@pytest.mark.parametrize("decoder", DECODERS)
def test_traces_with_unknown_batch_and_grid(decoder):
    spec = [tf.TensorSpec([None, None, None, CLASSES]), tf.TensorSpec([None, None, None, 2]), tf.TensorSpec([None, None, None, 2])]
    serve = tf.function(lambda h, s, o: decoder(h, s, o, STRIDE, max_detections=10, from_logits=False), input_signature=spec)
    t = encoded()
    out = serve(*(np.stack([t[k]] * 3) for k in ("heatmap", "size", "offset")))
    np.testing.assert_array_equal(out["num_detections"].numpy(), [4, 4, 4])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_detections": 0}, "max_detections"),
        ({"score_threshold": -0.1}, "score_threshold"),
        ({"iou_threshold": 1.5}, "iou_threshold"),
        ({"top_k": 0}, "top_k"),
    ],
)
@pytest.mark.parametrize("decoder", DECODERS)
def test_decoders_reject_bad_arguments(decoder, kwargs, message):
    t = encoded()
    with pytest.raises(ValueError, match=message):
        decoder(t["heatmap"][None], t["size"][None], t["offset"][None], STRIDE, **kwargs)


def test_packed_loss_equals_the_dict_loss_and_round_trips():
    from shared.vision.centernet import PackedCenterNetLoss, pack_targets, split_outputs

    boxes = tf.constant([[4.0, 8.0, 20.0, 30.0], [30.0, 2.0, 60.0, 20.0]])
    targets = encode_targets(boxes, tf.constant([0, 1]), (32, 64), (8, 16), num_classes=2)
    packed = pack_targets(targets)[None]
    assert packed.shape == (1, 8, 16, 2 + 5)
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(1, 8, 16, 2 + 4)).astype("float32")
    heat, size, offset = split_outputs(outputs, 2)
    batched = {k: v[None] for k, v in targets.items()}
    expected = float(CenterNetLoss(size_weight=0.2)(batched, {"heatmap": heat, "size": size, "offset": offset}))
    loss = PackedCenterNetLoss(2, size_weight=0.2)
    assert float(loss(packed, outputs)) == pytest.approx(expected, rel=1e-6)
    again = PackedCenterNetLoss.from_config(loss.get_config())
    assert again.num_classes == 2 and float(again(packed, outputs)) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="num_classes"):
        PackedCenterNetLoss(0)
