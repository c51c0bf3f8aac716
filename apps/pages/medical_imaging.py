"""Medical imaging: classify one radiograph, show where the classifier looked, outline lesions.

NOT A MEDICAL DEVICE: the demo models learned synthetic radiograph-like
images. Everything model-related goes through the medical tasks' API
(`decode_inputs`, `explain`, `segment`) via the cached loaders in
`apps.components`; this page only lays the results out.
"""

import numpy as np
import pandas as pd
import streamlit as st

from apps.components import plots
from apps.components.failure import fail
from apps.components.images import IMAGE_TYPES, decode_uploaded_image, explain_image, segment_image, show_image, show_overlay
from apps.components.loading import load_run
from apps.components.metric_cards import metric_cards
from apps.components.model_picker import pick_task_run
from domains.medical_imaging.config import CLASSES
from domains.medical_imaging.synthetic import generate_radiographs
from domains.medical_imaging.task import DEMO_SEED
from shared.domain import get_domain
from shared.errors import DlsuiteError
from shared.runs import Run

DOMAIN = "medical_imaging"
DEMO_SOURCE = "Demo image (synthetic, held out)"
UPLOAD_SOURCE = "Upload PNG, JPEG or DICOM"
DEMO_POOL = 120  # images generated; one per synthetic patient is kept
DEMO_PER_CLASS = 4  # 12 demo images, every class shown
LESION_THRESHOLD = 0.5  # the cut the segmentation metrics and `predict` use


@st.cache_data(show_spinner="Generating synthetic radiographs...", max_entries=4)
def demo_images(image_size: int) -> tuple[np.ndarray, list[str]]:
    """Held-out synthetic radiographs (no preset trains on `DEMO_SEED`) and their true classes.

    One image per synthetic patient, `DEMO_PER_CLASS` per class, in the
    generator's shuffled order.
    """
    images, labels, _, patients = generate_radiographs(DEMO_POOL, seed=DEMO_SEED, image_size=image_size)
    first_of_patient = np.sort(np.unique(patients, return_index=True)[1])
    picked = np.sort(np.concatenate([first_of_patient[labels[first_of_patient] == c][:DEMO_PER_CLASS] for c in range(len(CLASSES))]))
    return images[picked], [CLASSES[labels[i]] for i in picked]


domain = get_domain(DOMAIN)
st.title(domain.title)
st.warning(
    "**NOT A MEDICAL DEVICE** - for research and teaching only, never for diagnosis or treatment decisions. "
    "The demo models learned **synthetic** radiograph-like images from the suite's generator, not real patients: "
    "their outputs show how the pipeline works and say nothing about real findings. "
    f"Retrain on your own images with `dlsuite train {DOMAIN} --data your_folder` and validate on patients the model never saw.",
    icon=":material/medical_information:",
)

model_column, input_column = st.columns(2)
with model_column:
    classifier_path = pick_task_run(domain, "classifier", key=f"{DOMAIN}:model", label="Classifier")
    segmentation_path = pick_task_run(domain, "segmentation", key=f"{DOMAIN}:segmentation", label="Segmentation model", optional=True)
if classifier_path is None:
    st.stop()
try:
    run = load_run(classifier_path)
    segmentation_run = load_run(segmentation_path) if segmentation_path else None
except DlsuiteError as exc:
    fail(exc)
classes = run.state.get("classes", list(CLASSES))
with model_column:
    task = domain.task(run.task_name)
    st.caption(f"{task.title}: {task.description}")

with input_column:
    source_kind = st.radio("Image", [DEMO_SOURCE, UPLOAD_SOURCE], horizontal=True, key=f"{DOMAIN}:source")
    upload = None
    if source_kind == DEMO_SOURCE:
        _, truths = demo_images(run.state["image_size"])
        index = st.selectbox(
            "Demo image",
            range(len(truths)),
            format_func=lambda i: f"Image {i + 1} - true class: {truths[i]}",
            key=f"{DOMAIN}:demo_image",
        )
        source = f"demo image {index + 1} (true class: {truths[index]})"
    else:
        uploaded = st.file_uploader(
            "Radiograph",
            type=IMAGE_TYPES,
            key=f"{DOMAIN}:upload",
            help="PNG or JPEG (8- or 16-bit) or a DICOM file; it is decoded the way each model was trained.",
        )
        if uploaded is None:
            st.info("Upload a PNG, JPEG or DICOM image to classify it.")
            st.stop()
        upload = (uploaded.name, uploaded.getvalue())
        source = uploaded.name


def image_for(run_path: str, model_run: Run) -> np.ndarray:
    """The chosen image, decoded for the run at `run_path` (runs may differ in image size)."""
    if upload is None:
        return demo_images(model_run.state["image_size"])[0][index]
    return decode_uploaded_image(run_path, *upload)


try:
    image = image_for(classifier_path, run)
    explanation = explain_image(classifier_path, image)
    if segmentation_run is not None:
        segmentation_image = image_for(segmentation_path, segmentation_run)
        lesion = segment_image(segmentation_path, segmentation_image)
except DlsuiteError as exc:
    fail(exc)
predicted = explanation.details["predicted"]

# --- this image ----------------------------------------------------------------------
st.subheader(f"Prediction for {source}")
metric_cards(
    {"Predicted class": predicted, **{f"P({name})": value for name, value in zip(explanation.names, explanation.values)}},
    helps={"Predicted class": "The class with the highest probability."},
    float_format="{:.1%}",
)
image_column, gradcam_column, lesion_column = st.columns(3)
with image_column:
    show_image(image, "Input, as the classifier sees it")
with gradcam_column:
    show_overlay(image, explanation.details["heatmap"], f"Grad-CAM for {predicted!r}")
    st.caption(f"Red marks the regions that raised the score of {predicted!r}. Method: {explanation.method}.")
with lesion_column:
    if segmentation_run is None:
        st.info("Pick a segmentation model to outline lesions.")
    else:
        show_overlay(segmentation_image, lesion, "Lesion probability (U-Net)")
        st.caption(
            f"Red marks likely lesion pixels: {(lesion >= LESION_THRESHOLD).mean():.1%} of the image has a lesion "
            f"probability of {LESION_THRESHOLD} or more."
        )

# --- the runs' own evaluation -------------------------------------------------------
metrics = run.metrics
screening = metrics.get("screening", {})
st.subheader("How the classifier did on its test split")
metric_cards(
    {
        "Test accuracy": metrics.get("accuracy"),
        "Macro ROC AUC": metrics.get("macro_roc_auc"),
        "ECE": metrics.get("ece"),
        "Screening sensitivity": screening.get("sensitivity"),
        "Screening specificity": screening.get("specificity"),
    },
    helps={
        "Macro ROC AUC": "One-vs-rest ROC AUC averaged over the classes.",
        "ECE": "Expected calibration error: the average gap between confidence and accuracy (0 is perfectly calibrated).",
        "Screening sensitivity": "Abnormal (any finding) vs normal: share of abnormal test images flagged at the screening threshold.",
        "Screening specificity": "Abnormal (any finding) vs normal: share of normal test images not flagged.",
    },
)
if screening.get("reason"):
    st.caption(f"Screening operating point: {screening['reason']}.")
scratch = metrics.get("from_scratch")
if scratch and "skipped" in scratch:
    st.caption(f"No from-scratch comparison: {scratch['skipped']}.")
elif scratch:
    metric_cards(
        {
            "From scratch: accuracy": scratch.get("accuracy"),
            "From scratch: macro ROC AUC": scratch.get("macro_roc_auc"),
            "Transfer beats scratch": metrics.get("transfer_beats_scratch"),
        },
        helps={"Transfer beats scratch": "Whether transfer learning's macro ROC AUC is above the from-scratch model's."},
    )
    st.caption(
        f"From scratch: the backbone's architecture trained from random weights on the same images for "
        f"{scratch.get('epochs', 'the same number of')} epochs, to show what the pretrained weights add."
    )
per_class = metrics.get("per_class")
if per_class or "confusion_matrix" in metrics:
    with st.expander("Per-class results and confusion matrix"):
        if per_class:
            st.dataframe(pd.DataFrame(per_class).T)
        if "confusion_matrix" in metrics:
            plots.confusion_matrix_multiclass(metrics["confusion_matrix"], metrics.get("class_names", classes))

if segmentation_run is not None:
    segmentation_metrics = segmentation_run.metrics
    st.subheader("How the segmentation model did on its test split")
    metric_cards(
        {
            "Dice": segmentation_metrics.get("dice"),
            "IoU": segmentation_metrics.get("iou"),
            "Dice on lesion images": segmentation_metrics.get("dice_lesion_images_only"),
        },
        helps={
            "Dice": "Overlap of predicted and true lesion pixels over all test images (1 is perfect).",
            "Dice on lesion images": "Dice over the test images that hold a lesion only; empty images do not inflate it.",
        },
    )
