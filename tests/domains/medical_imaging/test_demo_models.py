"""The shipped medical demo models load and score held-out synthetic images above measured floors.

Measured with `evaluate_file` on 300 held-out synthetic radiographs
(`DEMO_SEED`, which no preset trains on), written as PNG files so that the
whole file path (folder listing, native PNG decoding in tf.data) is used:

- classifier: accuracy 0.793, macro ROC AUC 0.924 (majority class: about 0.4;
  chance AUC 0.5);
- segmentation: Dice 0.918, IoU 0.871, Dice on lesion images 0.863
  (predicting no lesion scores about 0.4, the share of normal images).

The floors sit about 0.08 below those figures.
"""

import pytest
from tests_support import demo_run

from domains.medical_imaging.synthetic import write_mask_manifest, write_synthetic_folder
from domains.medical_imaging.task import DEMO_SEED
from shared.domain import get_task
from shared.runs import Run

FLOORS = {
    "classifier": {"accuracy": 0.7, "macro_roc_auc": 0.85},
    "segmentation": {"dice": 0.84, "iou": 0.79, "dice_lesion_images_only": 0.78},
}
HELD_OUT = 300


@pytest.mark.parametrize("task_name", sorted(FLOORS))
def test_demo_model_scores_held_out_images(task_name, tmp_path):
    run = Run.open(demo_run("medical_imaging", task_name))
    assert run.metadata["data"]["synthetic"] is True
    if task_name == "classifier":
        data = write_synthetic_folder(tmp_path / "held_out", n=HELD_OUT, seed=DEMO_SEED).parent
    else:
        data = write_mask_manifest(tmp_path / "held_out", n=HELD_OUT, seed=DEMO_SEED)
    metrics = get_task("medical_imaging", task_name).evaluate_file(run, data)
    assert metrics["images"] == HELD_OUT
    for name, floor in FLOORS[task_name].items():
        assert metrics[name] > floor, (name, metrics[name])
