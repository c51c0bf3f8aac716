"""Video files as frame arrays, through PyAV (FFmpeg bundled with the wheel).

`read_frames` opens the container, checks the stream's size against a pixel
limit before decoding, and samples at most `max_frames` frames evenly over
the clip (or every `stride`-th). Demuxer and decoder failures are one
`DataError` line naming the file. Nothing is fetched: PyAV is given a local
path only, and network protocols are refused by suffix and existence checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.errors import DataError, first_line
from shared.inputs import require_kind

MAX_PIXELS_PER_FRAME = 4096 * 4096
MAX_FRAMES = 3000


def read_frames(
    path: Path,
    max_frames: int = 64,
    stride: int | None = None,
    max_pixels: int = MAX_PIXELS_PER_FRAME,
) -> tuple[np.ndarray, float]:
    """Decode up to `max_frames` RGB frames of the first video stream.

    Args:
        path: a local video file.
        max_frames: int. At most this many frames are returned.
        stride: int or None. Keep every `stride`-th decoded frame; None
            keeps the first `max_frames`.
        max_pixels: int. Frames larger than this are refused before decoding.

    Returns:
        (frames uint8 [T, H, W, 3], frames per second of the stream).
    """
    import av

    path = require_kind(path, "video")
    if max_frames < 1 or max_frames > MAX_FRAMES:
        raise ValueError(f"max_frames must be in [1, {MAX_FRAMES}]. Received: max_frames={max_frames}")
    stride = max(1, int(stride or 1))
    frames = []
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            streams = container.streams.video
            if not streams:
                raise DataError(f"{path} has no video stream")
            stream = streams[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > max_pixels:
                raise DataError(f"{path} has {width}x{height} frames, over the limit of {max_pixels:,} pixels")
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
            for index, frame in enumerate(container.decode(stream)):
                if index % stride:
                    continue
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= max_frames:
                    break
    except DataError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"could not decode {path} as video: {first_line(exc)}") from None
    if not frames:
        raise DataError(f"{path} holds no decodable video frames")
    return np.stack(frames), fps


def write_frames(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    """Encode uint8 RGB frames [T, H, W, 3] as an MPEG-4 video (atomically)."""
    import os
    import tempfile

    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".mp4")
    os.close(fd)
    try:
        with av.open(tmp, mode="w") as container:
            stream = container.add_stream("mpeg4", rate=int(fps))
            stream.height, stream.width = int(frames.shape[1]), int(frames.shape[2])
            stream.pix_fmt = "yuv420p"
            for image in np.asarray(frames, np.uint8):
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
