"""
Title: Road-scene perception from your own labelled images, then a video
Description: Train a segmentation model and an object detector with dlsuite, score held-out data with mIoU and COCO mAP, and annotate a clip.

## Introduction

Two folders are enough: road-scene images with label PNGs (`images/` +
`labels/`, or the Cityscapes `leftImg8bit/` + `gtFine/` layout), and images
with boxes in a COCO JSON (KITTI and Pascal VOC folders work too). We train
DeepLabV3+ on a pretrained TF Hub backbone for the pixels, a CenterNet on the
same backbone for the boxes, report the field's metrics on held-out data and
run both over a video.

Run it with `python domains/driving/quickstart.py` (4 epochs per phase on
300 images per task; `--quick`, 1 epoch on 60 images with weak models, took
75 s on 2 CPU cores). With no arguments it
renders synthetic road scenes first, so it needs no download; pass
`--scenes your_scenes/ --boxes your_annotations.json --video your_clip.mp4`
to use your own.
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


def fit(task_name: str, data: str, epochs: int, work: Path):
    """Train one task on `data` with the preset, `epochs` per transfer phase; return (task, run)."""
    task = get_task("driving", task_name)
    overrides = [f"data.path={data}", f"model.head_epochs={epochs}", f"model.fine_tune_epochs={epochs}", "trainer.tensorboard=false"]
    cfg = task.resolve_config(overrides=overrides)
    run_dir = prepare_run(task, cfg, work / task_name)
    result = train(task, cfg, run_dir)
    print(task.summarize(result.metrics))
    return task, Run.open(run_dir)


def main(scenes: str | None, boxes: str | None, video: str | None, epochs: int, images: int) -> None:
    work = Path(tempfile.mkdtemp())
    from domains.driving import synthetic

    # ## The data
    # The renderer writes the same formats a real data set comes in: label
    # PNGs of class ids, and a COCO JSON. A label PNG in the Cityscapes
    # palette, or Cityscapes labelIds, is mapped through the class table in
    # `domains/driving/classes.py`. Every file is checked when it is read:
    # a box outside its image, a zero-area box, an unknown class id, or a
    # mask whose size differs from its image stops with one line naming it.
    scenes = scenes or str(synthetic.write_cityscapes_style(work / "scenes", n=images, seed=1))
    boxes = boxes or str(synthetic.write_coco(work / "coco", n=images, seed=2))
    video = video or str(synthetic.write_clip(work / "clip.mp4", seed=3, seconds=10.0, fps=10))

    # ## Segmentation
    # DeepLabV3+: atrous spatial pyramid pooling on the TF Hub backbone's
    # coarse map, fused with a stride-4 detail branch. Phase one trains the
    # head on the frozen backbone, phase two fine-tunes it; in the same run
    # the same network trains from random weights, for comparison. The loss
    # weighs rare classes (signs, lights, pedestrians) up and adds a Dice term.
    segmenter_task, segmenter = fit("segmentation", scenes, epochs, work)

    # ## Detection
    # CenterNet: one heatmap per class whose peaks are object centres, plus
    # box size and offset. Targets are encoded inside tf.data; decoding and
    # class-wise NMS run after the model. mAP comes from pycocotools.
    detector_task, detector = fit("detection", boxes, epochs, work)

    # ## Held-out evaluation
    # Fresh scenes the runs never saw, in the same layouts.
    held_out = segmenter_task.write_examples(work / "held_out_scenes")
    report = segmenter_task.evaluate_file(segmenter, held_out.evaluate)
    worst = min((v, k) for k, v in report["iou_per_class"].items() if v is not None)
    print(f"held-out mIoU {report['miou']:.3f} on {report['images']} images; weakest class {worst[1]} (IoU {worst[0]:.3f})")
    held_boxes = detector_task.write_examples(work / "held_out_boxes")
    report = detector_task.evaluate_file(detector, held_boxes.evaluate)
    print(f"held-out mAP@[.5:.95] {report['map']:.3f}, mAP@.5 {report['map_50']:.3f} on {report['images']} images")

    # ## Video
    # Each frame is decoded (in a background thread), resized, run through
    # the model and drawn on, then encoded as H.264.
    for task, run, name in ((segmenter_task, segmenter, "segmented.mp4"), (detector_task, detector, "detected.mp4")):
        stats = task.annotate_video(run, Path(video), work / name)
        print(f"{name}: {stats['frames']} frames, {stats['frames_per_second']:.1f} frames/s end to end")
    print(f"run directories: {segmenter.path} {detector.path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Driving perception quickstart")
    parser.add_argument("--scenes", help="images/ + labels/ (or Cityscapes leftImg8bit/ + gtFine/) to train segmentation on")
    parser.add_argument("--boxes", help="a COCO JSON, KITTI or Pascal VOC folder to train detection on")
    parser.add_argument("--video", help="a video (mp4, mkv, avi, ...) or a folder of frames to annotate")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of each phase: the head, then fine-tuning")
    parser.add_argument("--images", type=int, default=300, help="synthetic images per task when no data is given")
    parser.add_argument("--quick", action="store_true", help="1 epoch per phase on 60 images: checks the walk-through, not the models")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.images = 1, 60
    main(args.scenes, args.boxes, args.video, args.epochs, args.images)
