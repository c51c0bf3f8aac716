"""Video files and frame folders as RGB uint8 frames, through PyAV (FFmpeg bundled with the wheel).

Reading:

- `probe` opens the container and reads the first video stream's header
  (size, rate, codec, length) without decoding a frame;
- `iter_frames` streams frames one at a time, so a long clip never sits in
  memory; `read_frames` collects them into one array for short clips;
- `iter_frame_folder` reads a folder of PNG/JPEG frames in natural name
  order; `open_frames` takes either a video file or such a folder.

Every refusal happens before any pixels are decoded where the header allows
it: a wrong suffix, an empty file, no video stream, a codec this FFmpeg
build cannot decode, frames over the pixel limit. Demuxer and decoder
failures are one `DataError` line naming the file (and the frame, once
decoding has started). Nothing is fetched: PyAV is given a local, non-empty
regular file only, so network URLs, devices and FIFOs never reach FFmpeg.
Work is bounded: each open and each packet read has a timeout, and at most
`max_frames * stride` frames are decoded.

A truncated file gives the frames before the cut and then ends, as FFmpeg
sees a clean end of file (MP4 with its index first, Matroska, AVI); an MP4
whose index (`moov`) was at the end, and so was cut off, is refused when
opened; one cut before its first complete frame "holds no decodable video
frames". Damaged data inside the file raises a `DataError` naming the frame.

Writing: `VideoWriter` streams frames into H.264 (`libx264`, or `mpeg4`
where the FFmpeg build lacks it) through a temporary file that is renamed
into place only when the writer closes cleanly, so a crash never leaves a
half-written video under the target name.

`prefetched` and `process_video` run decode -> model -> encode with
decoding in a background thread, so it overlaps the model's work.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from shared.errors import DataError, first_line
from shared.inputs import require_kind

MAX_PIXELS_PER_FRAME = 4096 * 4096
MAX_FRAMES = 3000
# A frame folder has no timing of its own; it plays (and is written back) at this rate.
FRAME_FOLDER_FPS = 10
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")
# Seconds FFmpeg may spend opening the file, and reading any one packet, before it is interrupted.
OPEN_TIMEOUT_S = 20.0
READ_TIMEOUT_S = 20.0
# A decoder buffers a few packets (B-frames, frame threads); this many in a row without a
# frame means the stream is garbage the decoder keeps skipping.
MAX_PACKETS_WITHOUT_FRAME = 600

# Container formats `VideoWriter` writes, by suffix, and the encoders it tries for each, best first.
WRITE_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}
ENCODERS = {"webm": ("libvpx-vp9", "libvpx")}
DEFAULT_ENCODERS = ("libx264", "mpeg4")
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast", "crf": "20"},
    "libvpx-vp9": {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8"},
    "libvpx": {"crf": "10", "b": "1M", "deadline": "realtime", "cpu-used": "8"},
}


@dataclass(frozen=True)
class VideoInfo:
    """What a video's header says about its first video stream.

    `frames` comes from the container's frame count or duration x fps; it is
    an estimate (0 when the container records neither) and decoding may
    yield a few more or fewer. `fps` is 0.0 when the stream declares no rate.
    """

    width: int
    height: int
    fps: float
    frames: int
    codec: str
    duration: float


def _reason(exc: BaseException) -> str:
    """FFmpeg's own error text, without the errno and file name PyAV wraps around it."""
    import av

    if isinstance(exc, av.error.ExitError):
        return f"FFmpeg gave up after waiting {READ_TIMEOUT_S:g} s for data"
    return getattr(exc, "strerror", None) or first_line(exc)


def _decode_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.FFmpegError, OSError, ValueError, EOFError)


def _codec_name(container) -> str:
    """The codec a stream declares, even when this FFmpeg build has no decoder for it.

    PyAV exposes the name only through the decoder's context, so it is read
    from FFmpeg's stream summary, which is logged at INFO level.
    """
    import av.logging

    previous = av.logging.get_level()
    try:
        av.logging.set_level(av.logging.INFO)
        summary = container.dumps_format()
    finally:
        av.logging.set_level(previous)
    match = re.search(r"Video: ([\w-]+)", summary)
    return match.group(1) if match else "unknown"


def _check_limits(max_frames: int, stride: int) -> None:
    if not 1 <= max_frames <= MAX_FRAMES:
        raise ValueError(f"max_frames must be in [1, {MAX_FRAMES}]. Received: max_frames={max_frames}")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer. Received: stride={stride}")


@contextlib.contextmanager
def _opened(path: Path, max_pixels: int):
    """Open `path` and vet its first video stream; yields `(path, container, stream, info)`."""
    import av

    path = require_kind(path, "video")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore", timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
    except _decode_errors() as exc:
        raise DataError(f"could not decode {path} as video: {_reason(exc)}") from None
    with container:
        streams = container.streams.video
        if not streams:
            raise DataError(f"{path} has no video stream")
        stream = streams[0]
        if stream.codec_context is None:  # PyAV leaves it unset when FFmpeg has no decoder for the codec
            raise DataError(
                f"{path}: video codec {_codec_name(container)!r} is not supported (no decoder); re-encode it as H.264 or MPEG-4"
            )
        context = stream.codec_context
        width, height = int(context.width), int(context.height)
        if width * height > max_pixels:
            raise DataError(f"{path} has {width}x{height} frames, over the limit of {max_pixels:,} pixels")
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = (container.duration or 0) / av.time_base
        frames = int(stream.frames or round(duration * fps))
        info = VideoInfo(width, height, fps, frames, context.name, duration)
        yield path, container, stream, info


def probe(path: Path, max_pixels: int = MAX_PIXELS_PER_FRAME) -> VideoInfo:
    """Read a video's header and refuse what `iter_frames` would refuse, without decoding a frame."""
    with _opened(path, max_pixels) as (_, _, _, info):
        return info


def _decode(path: Path, container, stream, stride: int, max_frames: int, max_pixels: int) -> Iterator[np.ndarray]:
    """Frames 0, stride, 2*stride... of an open stream, as RGB uint8 [H, W, 3]."""
    stream.thread_type = "AUTO"  # frame and slice threads: several times faster on HD video
    index = kept = idle = 0  # frames decoded, frames yielded, packets since the last frame
    try:
        for packet in container.demux(stream):
            decoded = packet.decode()
            idle = 0 if decoded else idle + 1
            if idle > MAX_PACKETS_WITHOUT_FRAME:
                raise DataError(f"could not decode {path} at frame {index}: {idle} packets in a row gave no frame")
            for frame in decoded:
                if frame.width * frame.height > max_pixels:  # the size may change mid-stream
                    raise DataError(f"{path}: frame {index} is {frame.width}x{frame.height}, over the limit of {max_pixels:,} pixels")
                if index % stride == 0:
                    yield frame.to_ndarray(format="rgb24")
                    kept += 1
                    if kept >= max_frames:
                        return
                index += 1
    except DataError:
        raise
    except _decode_errors() as exc:
        raise DataError(f"could not decode {path} at frame {index}: {_reason(exc)}") from None
    if not kept:
        raise DataError(f"{path} holds no decodable video frames")


def iter_frames(
    path: Path,
    stride: int = 1,
    max_frames: int = MAX_FRAMES,
    max_pixels: int = MAX_PIXELS_PER_FRAME,
) -> Iterator[np.ndarray]:
    """Stream every `stride`-th frame of the first video stream as RGB uint8 [H, W, 3].

    A generator: the file is opened, and any `DataError` raised, on the first
    `next()`. Frames before a mid-stream failure have already been yielded;
    the error names the frame where decoding stopped (0-based, counting every
    decoded frame, kept by `stride` or not).

    Args:
        path: a local video file.
        stride: int. Keep frames 0, stride, 2*stride...
        max_frames: int in [1, MAX_FRAMES]. Stop after yielding this many.
        max_pixels: int. Frames larger than this are refused before decoding.
    """
    _check_limits(max_frames, stride)
    with _opened(path, max_pixels) as (path, container, stream, _):
        yield from _decode(path, container, stream, int(stride), max_frames, max_pixels)


def read_frames(
    path: Path,
    max_frames: int = 64,
    stride: int | None = None,
    max_pixels: int = MAX_PIXELS_PER_FRAME,
) -> tuple[np.ndarray, float]:
    """Decode up to `max_frames` RGB frames of the first video stream into one array.

    Args:
        path: a local video file.
        max_frames: int. At most this many frames are returned.
        stride: int or None. Keep every `stride`-th decoded frame; None
            keeps the first `max_frames`.
        max_pixels: int. Frames larger than this are refused before decoding.

    Returns:
        (frames uint8 [T, H, W, 3], frames per second of the stream).
    """
    stride = max(1, int(stride or 1))
    _check_limits(max_frames, stride)
    with _opened(path, max_pixels) as (path, container, stream, info):
        frames = list(_decode(path, container, stream, stride, max_frames, max_pixels))
    return np.stack(frames), info.fps


# --- frame folders ----------------------------------------------------------------


def _natural_key(path: Path) -> tuple:
    """Sort key that orders digit runs by value: frame_2 before frame_10."""
    parts = re.split(r"(\d+)", path.name.lower())
    return [int(part) if part.isdigit() else part for part in parts], path.name


def frame_files(folder: Path) -> list[Path]:
    """The PNG/JPEG files of a frame folder in natural name order (hidden files skipped)."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"frame folder not found: {folder}")
    if not folder.is_dir():
        raise DataError(f"expected a folder of frames, got a file: {folder}")
    files = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    if not files:
        raise DataError(f"{folder} holds no PNG or JPEG frames ({', '.join(FRAME_SUFFIXES)})")
    return sorted(files, key=_natural_key)


def _folder_frames(files: list[Path], max_pixels: int) -> Iterator[np.ndarray]:
    from shared.inputs.image import PILLOW_ERRORS, open_image

    size = None
    for path in files:
        with open_image(path, max_pixels) as im:  # header only: size and pixel limit
            if size is None:
                size = im.size
            elif im.size != size:
                raise DataError(
                    f"{path} is {im.size[0]}x{im.size[1]}, but the frames before it are {size[0]}x{size[1]}; "
                    "every frame of a folder must have the same size"
                )
            try:
                rgb = im.convert("RGB")
            except PILLOW_ERRORS as exc:
                raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}") from None
        yield np.asarray(rgb, dtype=np.uint8)


def iter_frame_folder(
    folder: Path,
    max_pixels: int = MAX_PIXELS_PER_FRAME,
    stride: int = 1,
    max_frames: int = MAX_FRAMES,
) -> Iterator[np.ndarray]:
    """Stream a folder of PNG/JPEG frames (natural name order) as RGB uint8 [H, W, 3].

    Images are decoded by the shared image reader, which checks each one's
    size against `max_pixels` from its header; every frame must be the size
    of the first. A generator: errors are raised as the frames are reached.
    """
    _check_limits(max_frames, stride)
    yield from _folder_frames(frame_files(folder)[:: int(stride)][:max_frames], max_pixels)


def open_frames(
    path: Path,
    stride: int = 1,
    max_frames: int = MAX_FRAMES,
    max_pixels: int = MAX_PIXELS_PER_FRAME,
) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """A video file or a folder of frames as `(info, frame iterator)`.

    The header is checked now; frames are decoded as the iterator is read.
    A folder's `info` has fps `FRAME_FOLDER_FPS`, its image count as
    `frames`, the first image's size, and codec "png" or "jpeg".
    """
    from shared.inputs.image import open_image

    path = Path(path)
    _check_limits(max_frames, stride)
    if not path.is_dir():
        return probe(path, max_pixels), iter_frames(path, stride, max_frames, max_pixels)
    files = frame_files(path)
    with open_image(files[0], max_pixels) as im:
        (width, height), codec = im.size, (im.format or "image").lower()
    info = VideoInfo(width, height, float(FRAME_FOLDER_FPS), len(files), codec, len(files) / FRAME_FOLDER_FPS)
    return info, _folder_frames(files[:: int(stride)][:max_frames], max_pixels)


# --- writing ----------------------------------------------------------------------


def encoder_for(container_format: str) -> str:
    """The best encoder this FFmpeg build has for a container format."""
    from av.codec import Codec

    candidates = ENCODERS.get(container_format, DEFAULT_ENCODERS)
    for name in candidates:
        try:
            Codec(name, "w")
        except ValueError:  # UnknownCodecError: not in this build
            continue
        return name
    raise RuntimeError(f"this FFmpeg build has none of the encoders {', '.join(candidates)} for {container_format}")


def _create_temp(target: Path) -> str:
    """A new, hidden, empty file beside `target` (same folder, so the final rename is atomic).

    Created with mode 0o666 less the umask, as an ordinary write would be,
    so the published video gets the permissions the user expects (mkstemp's
    0o600 would survive the rename).
    """
    for _ in range(100):
        name = str(target.parent / f".{target.stem}.{secrets.token_hex(6)}{target.suffix or '.mp4'}")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return name
    raise FileExistsError(f"could not create a temporary file next to {target}")


class VideoWriter:
    """Stream RGB uint8 frames [H, W, 3] into a video, published atomically.

    Frames go to a temporary file next to `path`; a clean exit from the
    `with` block renames it over `path`, an exception removes it and leaves
    `path` as it was. The stream's size is the first frame's; odd sizes are
    padded by one edge row or column, as yuv420p needs even dimensions.
    MP4 and MOV are written with the index first, so playback starts before
    the whole file has arrived.

    Example:

        with VideoWriter("out.mp4", fps=25) as writer:
            for frame in frames:
                writer.write(frame)
    """

    def __init__(self, path: Path, fps: float = 10, codec: str | None = None):
        self.path = Path(path)
        suffix = self.path.suffix.lower() or ".mp4"
        if suffix not in WRITE_FORMATS:
            raise ValueError(f"VideoWriter writes {', '.join(WRITE_FORMATS)} files, not {self.path.name!r}")
        if not fps or fps <= 0:
            raise ValueError(f"fps must be positive. Received: fps={fps}")
        self.format = WRITE_FORMATS[suffix]
        self.fps = Fraction(fps).limit_denominator(1001)  # a float rate as the small fraction FFmpeg needs: 29.97 -> 2997/100
        self.codec = codec or encoder_for(self.format)
        self.frames = 0
        self.size: tuple[int, int] | None = None  # (height, width) of the frames given
        self._container = self._stream = self._tmp = None

    def __enter__(self) -> VideoWriter:
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = _create_temp(self.path)
        options = {"movflags": "+faststart"} if self.format in ("mp4", "mov") else {}
        try:
            self._container = av.open(self._tmp, mode="w", format=self.format, options=options)
        except BaseException:
            os.remove(self._tmp)
            raise
        return self

    def write(self, frame: np.ndarray) -> None:
        """Encode one RGB uint8 frame [H, W, 3] of the stream's size."""
        import av

        if self._container is None:
            raise RuntimeError("VideoWriter.write outside its `with` block")
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3 or 0 in frame.shape:
            raise ValueError(f"expected an RGB uint8 frame [H, W, 3]; got {frame.dtype} {frame.shape}")
        if self.size is None:
            self._start(*frame.shape[:2])
        elif frame.shape[:2] != self.size:
            raise ValueError(f"frame {self.frames} is {frame.shape[1]}x{frame.shape[0]}; the video is {self.size[1]}x{self.size[0]}")
        height, width = frame.shape[:2]
        if height % 2 or width % 2:
            frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        image.pts = self.frames
        for packet in self._stream.encode(image):
            self._container.mux(packet)
        self.frames += 1

    def write_batch(self, frames: Iterable[np.ndarray]) -> None:
        """Encode frames [B, H, W, 3] (or any iterable of frames) in order."""
        for frame in frames:
            self.write(frame)

    def _start(self, height: int, width: int) -> None:
        self.size = (height, width)
        stream = self._container.add_stream(self.codec, rate=self.fps, options=ENCODER_OPTIONS.get(self.codec, {}))
        stream.height, stream.width = height + height % 2, width + width % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / self.fps
        if self.codec == "mpeg4":  # its default 200 kb/s smears small detail
            stream.bit_rate = max(1_000_000, int(stream.width * stream.height * self.fps * 0.3))
        self._stream = stream

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        if not self.frames:
            self._abort()
            raise ValueError(f"no frames were written to {self.path}")
        try:
            for packet in self._stream.encode():  # flush the encoder's delayed frames
                self._container.mux(packet)
            self._container.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self._abort()
            raise
        finally:
            self._container = None

    def _abort(self) -> None:
        """Drop the temporary file; an error while closing it must not hide the original one."""
        with contextlib.suppress(*_decode_errors()):
            if self._container is not None:
                self._container.close()
        self._container = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._tmp)


def write_frames(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    """Encode uint8 RGB frames [T, H, W, 3] as a video (atomically); returns `path`."""
    with VideoWriter(path, fps=fps) as writer:
        writer.write_batch(np.asarray(frames, np.uint8))
    return writer.path


# --- decode -> model -> encode ---------------------------------------------------


def prefetched(iterable: Iterable, depth: int = 8) -> Iterator:
    """Read `iterable` ahead in a background thread, up to `depth` items.

    Decoding then overlaps whatever the consumer does with each item (model
    inference releases the GIL). An exception in the thread is re-raised to
    the consumer at the point it would have occurred. Closing the generator
    (breaking out of a `for` loop over it) stops the thread and closes the
    source iterator; it waits for the item being produced at that moment.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1. Received: depth={depth}")
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(iterable)
        try:
            for item in source:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it (it would wait forever otherwise)
            put((end, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="prefetched", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def process_video(
    src: Path,
    dst: Path,
    fn: Callable[[np.ndarray], np.ndarray],
    batch_size: int = 8,
    stride: int = 1,
    max_frames: int = MAX_FRAMES,
    progress: Callable[[int, int | None], None] | None = None,
    max_pixels: int = MAX_PIXELS_PER_FRAME,
) -> dict:
    """Decode `src` (a video or a frame folder), run `fn` on batches of frames, encode to `dst`.

    `fn` takes uint8 frames [B, H, W, 3] and returns uint8 frames
    [B, H', W', 3] (e.g. the input with detections drawn on it). Decoding runs
    ahead in a thread; `dst` is written at the source rate / `stride` by
    `VideoWriter`, so it appears only if the whole run succeeds.

    Args:
        progress: called as `progress(frames_done, total)` after each batch;
            `total` is the header's estimate, or None when it has none.

    Returns:
        {"frames": frames written, "fps_in": source fps, "seconds_total": wall time,
        "seconds_in_fn": time inside `fn`, "frames_per_second": frames / seconds_total,
        "latency_ms_per_frame": mean time from a frame being decoded to it being encoded}.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
    started = time.perf_counter()
    info, frames = open_frames(src, stride, max_frames, max_pixels)
    total = min(max_frames, -(-info.frames // int(stride))) if info.frames else None
    seconds_in_fn = latency = 0.0
    done = 0

    def run(batch: list[np.ndarray], arrived: list[float], writer: VideoWriter) -> None:
        nonlocal seconds_in_fn, latency, done
        before = time.perf_counter()
        out = np.asarray(fn(np.stack(batch)))
        seconds_in_fn += time.perf_counter() - before
        if out.dtype != np.uint8 or out.ndim != 4 or out.shape[0] != len(batch) or out.shape[-1] != 3:
            raise ValueError(f"fn must return uint8 frames [{len(batch)}, H, W, 3]; it returned {out.dtype} {out.shape}")
        writer.write_batch(out)
        written = time.perf_counter()
        latency += sum(written - t for t in arrived)
        done += len(batch)
        if progress is not None:
            progress(done, total)

    with VideoWriter(dst, fps=(info.fps or FRAME_FOLDER_FPS) / int(stride)) as writer:
        batch: list[np.ndarray] = []
        arrived: list[float] = []
        with contextlib.closing(prefetched(frames)) as decoded:
            for frame in decoded:
                batch.append(frame)
                arrived.append(time.perf_counter())
                if len(batch) == batch_size:
                    run(batch, arrived, writer)
                    batch, arrived = [], []
        if batch:
            run(batch, arrived, writer)
    seconds_total = time.perf_counter() - started
    return {
        "frames": done,
        "fps_in": info.fps,
        "seconds_total": seconds_total,
        "seconds_in_fn": seconds_in_fn,
        "frames_per_second": done / seconds_total if seconds_total else 0.0,
        "latency_ms_per_frame": 1000 * latency / done if done else 0.0,
    }
