"""Autonomous-driving perception: masks and boxes on a road scene, an annotated video, a sign classifier.

The demo models learned synthetic road scenes from the suite's renderer.
Everything model-related goes through the driving tasks' API via the
cached helpers in `apps.components.perception`; this page lays the results
out: overlays with a confidence slider and a class filter, per-frame
latency, and a video to play and download.
"""

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from apps.components.failure import fail
from apps.components.images import explain_image
from apps.components.loading import load_run
from apps.components.metric_cards import metric_cards
from apps.components.model_picker import pick_task_run
from apps.components.perception import IMAGE_TYPES, VIDEO_TYPES, annotated_video, class_map, decode_uploaded_frame, detections
from domains.driving.classes import DETECTION_CLASSES, SEGMENTATION_CLASSES, SIGN_CLASSES
from domains.driving.synthetic import render_clip, scene_set, sign_set
from domains.driving.task import DEMO_SEED
from shared.domain import get_domain
from shared.errors import DlsuiteError
from shared.inputs.video import write_frames
from shared.vision.overlays import blend_mask, draw_boxes

DOMAIN = "driving"
DEMO_SCENES = 12
DEMO_SIGNS = 20
PALETTE = [c.color for c in SEGMENTATION_CLASSES]
DEMO_SOURCE, UPLOAD_SOURCE = "Demo scene (synthetic, held out)", "Upload PNG or JPEG"
DEMO_CLIP, UPLOAD_CLIP = "Demo clip (synthetic, 10 s)", "Upload a video"


@st.cache_data(show_spinner="Rendering synthetic road scenes...", max_entries=4)
def demo_scenes(height: int, width: int) -> np.ndarray:
    """Held-out synthetic scenes (no preset trains on `DEMO_SEED`) as float32 [N, H, W, 3]."""
    return np.stack([s.image for s in scene_set(DEMO_SCENES, DEMO_SEED, height, width)]).astype("float32") / 255.0


@st.cache_data(show_spinner="Rendering the demo clip...", max_entries=2)
def demo_clip() -> bytes:
    """A 10-second synthetic drive (100 frames at 10 fps) as MP4 bytes."""
    frames = np.stack([s.image for s in render_clip(DEMO_SEED + 7, frames=100)])
    with tempfile.TemporaryDirectory(prefix="dlsuite-clip-") as folder:
        return write_frames(Path(folder) / "demo_clip.mp4", frames, fps=10).read_bytes()


@st.cache_data(show_spinner="Rendering sign crops...", max_entries=2)
def demo_signs(size: int) -> tuple[np.ndarray, np.ndarray]:
    crops, labels = sign_set(DEMO_SIGNS, DEMO_SEED, size)
    return crops.astype("float32") / 255.0, labels


def as_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)


domain = get_domain(DOMAIN)
st.title(domain.title)
st.warning(
    "The demo models learned **synthetic** road scenes from the suite's procedural renderer, not camera images: "
    "their outputs show how the pipeline works and say nothing about real roads. Never use them to control a vehicle. "
    f"Retrain on your own labelled images with `dlsuite train {DOMAIN} --task segmentation --data your_scenes/` "
    f"(or `--task detection --data annotations.json`).",
    icon=":material/directions_car:",
)

model_column, filter_column = st.columns(2)
with model_column:
    segmentation_path = pick_task_run(domain, "segmentation", key=f"{DOMAIN}:segmentation", label="Segmentation model", optional=True)
    detection_path = pick_task_run(domain, "detection", key=f"{DOMAIN}:detection", label="Detection model", optional=True)
if segmentation_path is None and detection_path is None:
    st.info(f"Pick a segmentation or a detection model (build the demo models with `dlsuite demo --build --only {DOMAIN}`).")
    st.stop()
try:
    segmentation_run = load_run(segmentation_path) if segmentation_path else None
    detection_run = load_run(detection_path) if detection_path else None
except DlsuiteError as exc:
    fail(exc)
reference = segmentation_run or detection_run
height, width = reference.state["image_height"], reference.state["image_width"]
with filter_column:
    default_threshold = float((detection_run.config_data.get("evaluation") or {}).get("display_threshold", 0.3)) if detection_run else 0.3
    threshold = st.slider("Detection confidence", 0.05, 0.95, default_threshold, 0.05, key=f"{DOMAIN}:threshold",
                          help="Boxes whose centre score is below this are hidden.", disabled=detection_run is None)
    shown_classes = st.multiselect("Segmentation classes shown", [c.name for c in SEGMENTATION_CLASSES], default=[c.name for c in SEGMENTATION_CLASSES],
                                   key=f"{DOMAIN}:mask_classes", disabled=segmentation_run is None)
    shown_objects = st.multiselect("Object classes shown", list(DETECTION_CLASSES), default=list(DETECTION_CLASSES), key=f"{DOMAIN}:box_classes",
                                   disabled=detection_run is None)
    opacity = st.slider("Mask opacity", 0.0, 1.0, 0.5, 0.05, key=f"{DOMAIN}:opacity")
visible_ids = {c.id for c in SEGMENTATION_CLASSES if c.name in shown_classes}
visible_objects = {i for i, name in enumerate(DETECTION_CLASSES) if name in shown_objects}

image_tab, video_tab, signs_tab, metrics_tab = st.tabs(["Image", "Video", "Traffic signs", "Test-split metrics"])

# --- one image ------------------------------------------------------------------------------
with image_tab:
    source_kind = st.radio("Image", [DEMO_SOURCE, UPLOAD_SOURCE], horizontal=True, key=f"{DOMAIN}:source")
    if source_kind == DEMO_SOURCE:
        index = st.selectbox("Demo scene", range(DEMO_SCENES), format_func=lambda i: f"Scene {i + 1}", key=f"{DOMAIN}:scene")
        images = {path: demo_scenes(r.state["image_height"], r.state["image_width"])[index] for path, r in ((segmentation_path, segmentation_run), (detection_path, detection_run)) if r}
    else:
        uploaded = st.file_uploader("Road scene", type=IMAGE_TYPES, key=f"{DOMAIN}:upload", help="PNG or JPEG; resized to each model's input size.")
        if uploaded is None:
            st.info("Upload a PNG or JPEG road scene.")
            images = {}
        else:
            try:
                images = {path: decode_uploaded_frame(path, uploaded.name, uploaded.getvalue()) for path in (segmentation_path, detection_path) if path}
            except DlsuiteError as exc:
                fail(exc)
    if images:
        cards, columns = {}, st.columns(2)
        try:
            if segmentation_run is not None:
                image = images[segmentation_path]
                ids, ms = class_map(segmentation_path, image)
                cards["Segmentation latency"] = f"{ms:.0f} ms"
                with columns[0]:
                    st.image(blend_mask(as_uint8(image), ids, PALETTE, opacity, visible_ids), caption="Predicted classes", width="stretch")
                    shares = pd.Series({c.name: float((ids == c.id).mean()) for c in SEGMENTATION_CLASSES}, name="share of pixels")
                    st.dataframe(shares.to_frame().style.format("{:.1%}"), width="stretch")
            if detection_run is not None:
                image = images[detection_path]
                (boxes, scores, labels), ms = detections(detection_path, image, threshold)
                keep = np.isin(labels, list(visible_objects))
                cards["Detection latency"] = f"{ms:.0f} ms"
                cards["Objects shown"] = int(keep.sum())
                with columns[1]:
                    st.image(draw_boxes(as_uint8(image), boxes[keep], labels[keep], scores[keep], DETECTION_CLASSES, scale=3), caption=f"Boxes at confidence {threshold:.2f} or more", width="stretch")
                    table = pd.DataFrame({"class": [DETECTION_CLASSES[i] for i in labels[keep]], "score": scores[keep],
                                          **{k: boxes[keep][:, j].round(1) for j, k in enumerate(("x_min", "y_min", "x_max", "y_max"))}})
                    st.dataframe(table, width="stretch", hide_index=True)
        except DlsuiteError as exc:
            fail(exc)
        metric_cards(cards, helps={"Segmentation latency": "One model call on this image, on this server (cached calls are not re-timed).",
                                   "Detection latency": "Model call, heatmap decoding and NMS on this image, on this server."})

# --- a video ---------------------------------------------------------------------------------
with video_tab:
    model_names = {name: path for name, path in (("segmentation", segmentation_path), ("detection", detection_path)) if path}
    chosen = st.radio("Annotate with", list(model_names), horizontal=True, key=f"{DOMAIN}:video_model")
    clip_kind = st.radio("Video", [DEMO_CLIP, UPLOAD_CLIP], horizontal=True, key=f"{DOMAIN}:clip")
    clip = None
    if clip_kind == DEMO_CLIP:
        clip = ("demo_clip.mp4", demo_clip())
    else:
        uploaded_clip = st.file_uploader("Video", type=VIDEO_TYPES, key=f"{DOMAIN}:video_upload",
                                         help="MP4, MKV, AVI, MOV or WebM; decoded with FFmpeg (PyAV), every frame annotated.")
        if uploaded_clip is not None:
            clip = (uploaded_clip.name, uploaded_clip.getvalue())
        else:
            st.info("Upload a video to annotate it.")
    if clip is not None and st.button("Annotate the video", key=f"{DOMAIN}:annotate", type="primary"):
        options = (("threshold", threshold), ("visible", tuple(sorted(visible_objects)))) if chosen == "detection" else (("alpha", opacity), ("visible", tuple(sorted(visible_ids))))
        try:
            video, stats = annotated_video(model_names[chosen], clip[0], clip[1], options)
        except DlsuiteError as exc:
            fail(exc)
        st.session_state[f"{DOMAIN}:video_result"] = (video, stats, clip[0], chosen)
    result = st.session_state.get(f"{DOMAIN}:video_result")
    if result is not None:
        video, stats, name, used = result
        metric_cards(
            {"Frames": stats["frames"], "End to end": f"{stats['frames_per_second']:.1f} frames/s", "Model and drawing": f"{stats['model_ms_per_frame']:.1f} ms/frame"},
            helps={"End to end": "Decoding, resizing, the model, drawing and H.264 encoding, with decoding in a background thread.",
                   "Model and drawing": "Time in the model and the overlay per frame (batches of 8 frames)."},
        )
        st.video(video)
        st.download_button("Download the annotated video", video, file_name=f"{Path(name).stem}_{used}.mp4", mime="video/mp4", key=f"{DOMAIN}:download")

# --- traffic signs ---------------------------------------------------------------------------
with signs_tab:
    signs_path = pick_task_run(domain, "signs", key=f"{DOMAIN}:signs", label="Sign classifier", optional=True)
    if signs_path is None:
        st.info("Pick a sign classifier to classify traffic-sign crops.")
    else:
        try:
            signs_run = load_run(signs_path)
            size = signs_run.state["image_height"]
            crops, truths = demo_signs(size)
            pick = st.selectbox("Demo sign (synthetic, held out)", range(len(crops)), format_func=lambda i: f"Crop {i + 1}", key=f"{DOMAIN}:sign")
            explanation = explain_image(signs_path, crops[pick])
        except DlsuiteError as exc:
            fail(exc)
        left, right = st.columns([1, 2])
        with left:
            st.image(as_uint8(crops[pick]), caption=f"True sign: {SIGN_CLASSES[truths[pick]]}", width=160)
        with right:
            metric_cards({"Predicted sign": explanation.details["predicted"], "Probability": f"{explanation.score:.1%}"})
            st.bar_chart(pd.Series(explanation.values, index=explanation.names, name="probability"))
            st.caption(explanation.method)

# --- the runs' own evaluation -----------------------------------------------------------------
with metrics_tab:
    for run, title in ((segmentation_run, "Segmentation"), (detection_run, "Detection")):
        if run is None:
            continue
        metrics = run.metrics
        st.subheader(f"{title}: held-out test split")
        scratch = metrics.get("from_scratch") or {}
        if title == "Segmentation":
            cards = {"mIoU": metrics.get("miou"), "Pixel accuracy": metrics.get("pixel_accuracy"), "From scratch: mIoU": scratch.get("miou"),
                     "Latency": f"{metrics.get('latency_ms_per_frame', float('nan')):.1f} ms/frame"}
            per_class = metrics.get("iou_per_class") or {}
        else:
            cards = {"mAP@[.5:.95]": metrics.get("map"), "mAP@.5": metrics.get("map_50"), "From scratch: mAP": scratch.get("map"),
                     "Latency": f"{metrics.get('latency_ms_per_frame', float('nan')):.1f} ms/frame"}
            per_class = metrics.get("ap_per_class") or {}
        metric_cards(cards, helps={"From scratch: mIoU": "The same network from random weights, same data and epochs.",
                                   "From scratch: mAP": "The same network from random weights, same data and epochs (COCO mAP through pycocotools)."})
        comparison = metrics.get("transfer_vs_scratch")
        if isinstance(comparison, dict) and comparison.get("verdict"):
            st.caption(f"Transfer against scratch, paired bootstrap over the test images: {comparison['verdict']}.")
        if per_class:
            st.bar_chart(pd.Series({k: v for k, v in per_class.items() if v is not None}, name="IoU" if title == "Segmentation" else "AP@[.5:.95]"))
        for picture in ("segmentation.png", "detections.png"):
            if (run.path / picture).is_file():
                st.image(io.BytesIO((run.path / picture).read_bytes()).getvalue(), caption=f"Test images ({picture})", width="stretch")
