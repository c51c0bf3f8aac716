"""
Title: Keyword spotting on a folder of your own clips
Description: Train, evaluate, stream over a long recording, explain and export a keyword spotter with dlsuite.

## Introduction

A folder in the Speech Commands layout (`<label>/<speaker>_nohash_<n>.wav`,
optionally `_background_noise_/`) is all the keyword spotter needs. We train
a residual CNN whose log-mel front end is a layer of the model, score a
held-out folder by speakers the model never heard, slide the model over a
long recording to find each keyword with its time, explain one clip with
saliency over its spectrogram, and export the model to TFLite.

Run it with `python domains/speech/quickstart.py` (a few minutes on a laptop
CPU). With no arguments it synthesizes clips with espeak-ng into a temporary
folder first, so it needs no download; pass `--data your_clips/
--held-out your_test_clips/` to use your own.

The synthetic clips are spoken by espeak-ng voices, not by people.
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


def main(data: str | None, held_out: str | None, epochs: int, speakers: int) -> None:
    work = Path(tempfile.mkdtemp())
    task = get_task("speech", "keywords")

    # ## The data
    # Label folders become classes; folders outside `data.keywords` become
    # `_unknown_`, and `_silence_` clips are cut from the background noise.
    # Without list files the clips are split by speaker, so the test split
    # holds voices the model never heard.
    if data is None:
        from domains.speech.synthetic import generate_keyword_dataset

        data = str(generate_keyword_dataset(work / "clips", seed=1, speakers=speakers, clips_per_speaker=1))
    examples = task.write_examples(work / "examples")
    held_out = held_out or str(examples.evaluate)

    # ## The model and its training
    # Raw 16 kHz audio in: waveform augmentation (training only), the
    # log-mel front end, SpecAugment (training only), residual conv blocks,
    # a softmax over the keywords, `_silence_` and `_unknown_`.
    overrides = [f"data.path={data}", f"trainer.epochs={epochs}", "trainer.tensorboard=false", "evaluation.streaming.validation_seconds=30", "evaluation.streaming.test_seconds=30"]
    cfg = task.resolve_config(overrides=overrides)
    run_dir = prepare_run(task, cfg, work / "run")
    result = train(task, cfg, run_dir)
    print(task.summarize(result.metrics))

    # ## Evaluation on a held-out folder
    run = Run.open(run_dir)
    metrics = task.evaluate_file(run, Path(held_out))
    print(f"held-out accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} on {metrics['clips']} clips by {metrics['speakers']} speakers")

    # ## Streaming over a long recording
    # A clip gets one row; a recording longer than 1.5 clips gets one row
    # per detection, with its time, using the thresholds tuned on validation audio.
    print(task.predict(run, examples.predict).to_string(index=False))

    # ## Explanation
    # Integrated gradients of the top class over the log-mel spectrogram.
    explanation = task.explain(run, task.read_example(run, examples.explain))
    print(f"{examples.explain.name}: {explanation.details['predicted']} ({explanation.method})")

    # ## Export for a device
    # TFLite with builtin ops only: the STFT is one strided convolution.
    from shared.export import export

    print(f"tflite: {export(run.model, 'tflite', run_dir / 'model.tflite')}")
    print(f"run directory: {run_dir}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Speech keyword-spotting quickstart")
    parser.add_argument("--data", help="a folder of <label>/<speaker>_nohash_<n>.wav clips")
    parser.add_argument("--held-out", help="a labelled folder of the same layout to evaluate on")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--speakers", type=int, default=16, help="synthetic speakers when --data is not given")
    args = parser.parse_args()
    main(args.data, args.held_out, args.epochs, args.speakers)
