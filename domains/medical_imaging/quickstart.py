"""
Title: Radiograph findings from a folder of your own images
Description: Train, evaluate, predict and explain a medical image classifier with dlsuite.

## Introduction

A folder with one sub-folder per class (`normal/`, `nodule/`, ...) of PNG,
JPEG or DICOM files is all the classifier needs. We fine-tune a pretrained
TF Hub backbone on it in two phases, score a held-out folder the model never
saw, predict single files and explain one DICOM with Grad-CAM.

Run it with `python domains/medical_imaging/quickstart.py` (a few minutes on
a laptop CPU). With no arguments it writes synthetic radiographs into a
temporary folder first, so it needs no download; pass `--data your_images/
--held-out your_test_images/` to use your own.

NOT A MEDICAL DEVICE: for research and teaching only.
"""

# ## Setup
import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from shared.domain import get_task  # noqa: E402
from shared.runs import Run  # noqa: E402
from shared.training.runner import prepare_run, train  # noqa: E402


def main(data: str | None, held_out: str | None, epochs: int, images: int) -> None:
    work = Path(tempfile.mkdtemp())
    task = get_task("medical_imaging", "classifier")

    # ## The data
    # `write_examples` writes held-out synthetic radiographs (normal, nodule,
    # opacity) as a class-per-folder tree; the same writer makes a training
    # folder when you bring none. Images with a patient id (a DICOM's
    # PatientID, or a manifest's patient_id column) are split by patient.
    if data is None:
        from domains.medical_imaging.synthetic import write_synthetic_folder

        data = str(write_synthetic_folder(work / "train_images", n=images, seed=1).parent)
    examples = task.write_examples(work / "examples")
    held_out = held_out or str(examples.evaluate)

    # ## The model and its training
    # The preset's `transfer` model: a TF Hub backbone (the suite's offline
    # one, `dlsuite hub list`) with a new head. Phase one trains the head on
    # the frozen backbone; phase two fine-tunes the backbone at a lower
    # learning rate. `model.type=cnn` trains a residual CNN from scratch
    # instead, which needs far more images to learn as much.
    # 8-bit PNG and JPEG files decode natively inside tf.data; DICOM files
    # go through pydicom with their window.
    overrides = [
        f"data.path={data}", f"model.head_epochs={epochs}", f"model.fine_tune_epochs={epochs}",
        "evaluation.compare_from_scratch=false", "trainer.tensorboard=false",
    ]
    cfg = task.resolve_config(overrides=overrides)
    run_dir = prepare_run(task, cfg, work / "run")
    result = train(task, cfg, run_dir)
    print(task.summarize(result.metrics))

    # ## Evaluation on a held-out folder
    # The same folder layout, or a manifest CSV with `path,label`; a class the
    # run never saw is one error line.
    run = Run.open(run_dir)
    metrics = task.evaluate_file(run, Path(held_out))
    print(f"held-out accuracy {metrics['accuracy']:.3f}, macro ROC AUC {metrics['macro_roc_auc']:.3f} on {metrics['images']} images")

    # ## Inference
    # One row per file: the predicted class and the probability of each.
    print(task.predict(run, examples.predict).to_string(index=False))

    # ## Explanation
    # Grad-CAM on the last convolutional feature map, here for a DICOM file.
    image = task.read_example(run, examples.explain)
    explanation = task.explain(run, image)
    print(f"{examples.explain.name}: {explanation.details['predicted']} ({explanation.method})")
    print(f"run directory: {run_dir}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Medical imaging quickstart")
    parser.add_argument("--data", help="a folder with one sub-folder per class (PNG, JPEG or DICOM), or a manifest CSV")
    parser.add_argument("--held-out", help="a labelled folder or manifest to evaluate on")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of each phase: the head, then fine-tuning")
    parser.add_argument("--images", type=int, default=1200, help="synthetic training images when --data is not given")
    args = parser.parse_args()
    main(args.data, args.held_out, args.epochs, args.images)
