"""The streaming video reader, frame folders, the atomic writer and the decode -> model -> encode loop.

Every test video is made here with PyAV at 64x48 (or smaller), so the whole
file runs in a few seconds. Codecs are lossy: pixel checks compare means.
"""

from __future__ import annotations

import os
import threading
import time
import types

import av
import numpy as np
import pytest
from PIL import Image

from shared.errors import DataError
from shared.inputs import video

H, W = 48, 64


def ramp(n: int = 12, height: int = H, width: int = W) -> np.ndarray:
    """n flat grey frames, frame i at level 20 * i."""
    levels = (np.arange(n) * 20).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (n, height, width, 3)).copy()


def noise(n: int = 20) -> np.ndarray:
    """Frames that compress badly, so each one holds a real share of the file."""
    return np.random.default_rng(0).integers(0, 256, (n, H, W, 3), dtype=np.uint8)


def one_line(excinfo, path) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def pyav_video(path, frames, codec="mpeg4", options=None):
    """Write a video with PyAV directly (no faststart, no padding): a file from another tool."""
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=10)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# --- reading ---------------------------------------------------------------------------


def test_probe_reads_the_header(tmp_path):
    path = video.write_frames(tmp_path / "clip.mp4", ramp(12), fps=10)
    info = video.probe(path)
    expected_codec = "h264" if video.encoder_for("mp4") == "libx264" else "mpeg4"
    assert (info.width, info.height, info.fps, info.frames, info.codec) == (W, H, 10.0, 12, expected_codec)
    assert info.duration == pytest.approx(1.2, abs=0.11)


def test_iter_frames_streams_the_round_trip(tmp_path):
    source = ramp(12)
    path = video.write_frames(tmp_path / "clip.mp4", source, fps=10)
    frames = video.iter_frames(path)
    assert isinstance(frames, types.GeneratorType)
    decoded = list(frames)
    assert len(decoded) == 12
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in decoded)
    np.testing.assert_allclose([f.mean() for f in decoded], source.reshape(12, -1).mean(axis=1), atol=4)


def test_stride_and_max_frames(tmp_path):
    source = ramp(12)
    path = video.write_frames(tmp_path / "clip.mp4", source, fps=10)
    every_fourth = list(video.iter_frames(path, stride=4))
    assert len(every_fourth) == 3
    np.testing.assert_allclose([f.mean() for f in every_fourth], [0, 80, 160], atol=4)
    assert len(list(video.iter_frames(path, stride=2, max_frames=4))) == 4
    with pytest.raises(ValueError, match="stride"):
        list(video.iter_frames(path, stride=0))
    with pytest.raises(ValueError, match="max_frames"):
        list(video.iter_frames(path, max_frames=video.MAX_FRAMES + 1))


def test_other_containers_and_the_fallback_encoder_read_back(tmp_path):
    for name in ("clip.mkv", "clip.avi", "clip.mov", "clip.webm"):
        path = video.write_frames(tmp_path / name, ramp(6), fps=10)
        assert len(list(video.iter_frames(path))) == 6, name
    with video.VideoWriter(tmp_path / "fallback.mp4", fps=25, codec="mpeg4") as writer:  # used where libx264 is absent
        writer.write_batch(ramp(6))
    assert video.probe(tmp_path / "fallback.mp4").codec == "mpeg4"
    np.testing.assert_allclose([f.mean() for f in video.iter_frames(tmp_path / "fallback.mp4")], [0, 20, 40, 60, 80, 100], atol=4)


# --- frame folders ---------------------------------------------------------------------


def write_folder(folder, frames, names, fmt="PNG"):
    folder.mkdir()
    for frame, name in zip(frames, names):
        Image.fromarray(frame).save(folder / name, format=fmt)
    return folder


def test_frame_folder_uses_natural_order(tmp_path):
    names = [f"frame_{i}.png" for i in range(1, 13)]  # plain sorting would put frame_10 before frame_2
    folder = write_folder(tmp_path / "frames", ramp(12), names)
    (folder / "notes.txt").write_text("not a frame")
    frames = list(video.iter_frame_folder(folder))
    assert len(frames) == 12 and frames[0].shape == (H, W, 3)
    assert [int(f.mean()) for f in frames] == [20 * i for i in range(12)]  # PNG is lossless
    assert [int(f.mean()) for f in video.iter_frame_folder(folder, stride=5)] == [0, 100, 200]

    info, stream = video.open_frames(folder)
    assert (info.width, info.height, info.fps, info.frames, info.codec) == (W, H, video.FRAME_FOLDER_FPS, 12, "png")
    assert len(list(stream)) == 12


def test_frame_folder_reads_jpeg(tmp_path):
    folder = write_folder(tmp_path / "frames", ramp(3), ["a.jpg", "b.jpeg", "c.JPG"], fmt="JPEG")
    np.testing.assert_allclose([f.mean() for f in video.iter_frame_folder(folder)], [0, 20, 40], atol=2)


def test_frame_folder_size_mismatch_names_the_file(tmp_path):
    frames = list(ramp(3))
    frames[2] = np.zeros((H, W + 2, 3), np.uint8)
    folder = write_folder(tmp_path / "frames", frames, ["f1.png", "f2.png", "f10.png"])
    stream = video.iter_frame_folder(folder)
    assert len([next(stream), next(stream)]) == 2
    with pytest.raises(DataError, match="same size") as caught:
        next(stream)
    assert "f10.png" in one_line(caught, folder)


def test_frame_folder_bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no PNG or JPEG frames") as caught:
        list(video.iter_frame_folder(empty))
    one_line(caught, empty)
    folder = write_folder(tmp_path / "big", ramp(1), ["f.png"])
    with pytest.raises(DataError, match="over the limit") as caught:
        list(video.iter_frame_folder(folder, max_pixels=100))
    one_line(caught, folder)
    (folder / "g.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(DataError) as caught:
        list(video.iter_frame_folder(folder))
    one_line(caught, folder / "g.png")


# --- the writer ------------------------------------------------------------------------


def test_writer_is_atomic(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="model crashed"):
        with video.VideoWriter(target, fps=10) as writer:
            writer.write(ramp(1)[0])
            assert list(tmp_path.iterdir()) != []  # the temporary file exists meanwhile
            raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []  # no target, no temporary file

    target.write_bytes(b"previous result")
    with pytest.raises(ValueError, match="RGB uint8"):
        with video.VideoWriter(target, fps=10) as writer:
            writer.write(ramp(1)[0])
            writer.write(np.zeros((H, W, 3), np.float32))
    assert target.read_bytes() == b"previous result"
    assert list(tmp_path.iterdir()) == [target]

    with pytest.raises(ValueError, match="no frames were written"):
        with video.VideoWriter(target, fps=10):
            pass
    assert target.read_bytes() == b"previous result"

    with video.VideoWriter(target, fps=10) as writer:
        writer.write_batch(ramp(4))
    assert writer.frames == 4 and video.probe(target).frames == 4
    assert list(tmp_path.iterdir()) == [target]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file's mode, not a temporary file's 0o600


def test_writer_pads_odd_sizes(tmp_path):
    source = ramp(5, height=31, width=45)
    path = video.write_frames(tmp_path / "odd.mp4", source, fps=10)
    info = video.probe(path)
    assert (info.width, info.height) == (46, 32)
    decoded = list(video.iter_frames(path))
    assert len(decoded) == 5
    # The padding repeats the last row and column, so the visible frame is unchanged.
    np.testing.assert_allclose([f[:31, :45].mean() for f in decoded], [0, 20, 40, 60, 80], atol=4)


def test_writer_refuses_mixed_sizes_and_unknown_suffixes(tmp_path):
    with pytest.raises(ValueError, match="frame 1 is"):
        with video.VideoWriter(tmp_path / "out.mp4") as writer:
            writer.write(ramp(1)[0])
            writer.write(ramp(1, height=H + 2)[0])
    with pytest.raises(ValueError, match="writes"):
        video.VideoWriter(tmp_path / "out.gif")
    assert list(tmp_path.iterdir()) == []


# --- prefetching -----------------------------------------------------------------------


def test_prefetched_reads_ahead_while_the_consumer_works():
    produced = []

    def source():
        for i in range(20):
            produced.append(i)
            yield i

    stream = video.prefetched(source(), depth=4)
    assert next(stream) == 0
    # The consumer holds item 0 and asks for nothing; the thread fills the queue meanwhile.
    deadline = time.monotonic() + 5
    while len(produced) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(produced) == 6  # item 0 held, 4 queued, 1 waiting to be put: no further than depth allows
    assert list(stream) == list(range(1, 20))


def test_prefetched_overlaps_producer_and_consumer():
    def slow_source():
        for i in range(6):
            time.sleep(0.05)
            yield i

    started = time.perf_counter()
    for _ in video.prefetched(slow_source()):
        time.sleep(0.05)
    # Serial would take 0.6 s; overlapped about 0.35 s.
    assert time.perf_counter() - started < 0.5


def test_prefetched_reraises_the_producers_error():
    def failing():
        yield 1
        yield 2
        raise DataError("clip.mp4 is corrupt at frame 2")

    received = []
    with pytest.raises(DataError, match="corrupt at frame 2"):
        for item in video.prefetched(failing()):
            received.append(item)
    assert received == [1, 2]


def test_prefetched_stops_its_thread_when_the_consumer_breaks():
    baseline = threading.active_count()
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    def consume_three():
        for item in video.prefetched(endless(), depth=2):
            if item == 2:
                break

    consume_three()
    assert closed.is_set()
    assert threading.active_count() == baseline


# --- decode -> model -> encode -------------------------------------------------------


def test_process_video_end_to_end(tmp_path):
    src = video.write_frames(tmp_path / "in.mp4", ramp(12), fps=10)
    batches, calls = [], []

    def draw(batch):
        batches.append(batch.shape)
        out = batch.copy()
        out[:, 10:20, 10:30] = 255  # a box, as a detector's overlay would be
        return out

    stats = video.process_video(src, tmp_path / "out.mp4", draw, batch_size=5, progress=lambda done, total: calls.append((done, total)))
    assert batches == [(5, H, W, 3), (5, H, W, 3), (2, H, W, 3)]
    assert calls == [(5, 12), (10, 12), (12, 12)]
    assert set(stats) == {"frames", "fps_in", "seconds_total", "seconds_in_fn", "frames_per_second", "latency_ms_per_frame"}
    assert stats["frames"] == 12 and stats["fps_in"] == 10.0
    assert 0 <= stats["seconds_in_fn"] <= stats["seconds_total"] and stats["latency_ms_per_frame"] > 0
    assert stats["frames_per_second"] == pytest.approx(12 / stats["seconds_total"])
    out = list(video.iter_frames(tmp_path / "out.mp4"))
    assert len(out) == 12 and out[3][15, 20].mean() > 200
    assert video.probe(tmp_path / "out.mp4").fps == 10.0

    halved = video.process_video(src, tmp_path / "half.mp4", draw, stride=2)
    assert halved["frames"] == 6
    info = video.probe(tmp_path / "half.mp4")
    assert (info.frames, info.fps) == (6, 5.0)


def test_process_video_on_a_folder_and_resized_output(tmp_path):
    folder = write_folder(tmp_path / "frames", ramp(4), [f"{i}.png" for i in range(4)])
    stats = video.process_video(folder, tmp_path / "out.mp4", lambda b: b[:, ::2, ::2], batch_size=3)
    assert stats["frames"] == 4 and stats["fps_in"] == video.FRAME_FOLDER_FPS
    info = video.probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.frames) == (W // 2, H // 2, 4)


def test_process_video_failure_leaves_no_output(tmp_path):
    src = video.write_frames(tmp_path / "in.mp4", ramp(6), fps=10)
    baseline = threading.active_count()

    def crash(batch):
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        video.process_video(src, tmp_path / "out.mp4", crash, batch_size=2)
    with pytest.raises(ValueError, match="fn must return uint8"):
        video.process_video(src, tmp_path / "out.mp4", lambda b: b.astype(np.float32), batch_size=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert threading.active_count() == baseline


# --- bad inputs: one line each, naming the file ----------------------------------------


def test_random_bytes_are_refused_at_open(tmp_path):
    path = tmp_path / "random.mp4"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for read in (video.probe, lambda p: list(video.iter_frames(p))):
        with pytest.raises(DataError, match="could not decode .* as video") as caught:
            read(path)
        one_line(caught, path)


def test_truncated_video_gives_its_prefix_or_one_line(tmp_path):
    # Index first (what VideoWriter writes): the frames before the cut, then a clean end.
    whole = video.write_frames(tmp_path / "whole.mp4", noise(20), fps=10)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    started = time.perf_counter()
    prefix = list(video.iter_frames(cut))
    assert 0 < len(prefix) < 20
    assert time.perf_counter() - started < 5
    # Index last (PyAV's and many tools' default): the index is lost with the tail, refused at open.
    late = pyav_video(tmp_path / "late.mp4", noise(20))
    data = late.read_bytes()
    late.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="could not decode .* as video") as caught:
        list(video.iter_frames(late))
    one_line(caught, late)


def test_corrupt_data_mid_stream_names_the_frame(tmp_path):
    path = video.write_frames(tmp_path / "damaged.mp4", noise(20), fps=10)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = b"\xff" * 3000
    path.write_bytes(bytes(data))
    received = []
    with pytest.raises(DataError, match=r"could not decode .* at frame \d+") as caught:
        for frame in video.iter_frames(path):
            received.append(frame)
    one_line(caught, path)
    assert 0 < len(received) < 20  # the frames before the damage were delivered


def test_zero_frame_video(tmp_path):
    # A container with a video stream and no packets: PyAV writes the header and the index only.
    path = tmp_path / "empty_stream.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        container.start_encoding()
    assert video.probe(path).frames == 0
    with pytest.raises(DataError, match="holds no decodable video frames") as caught:
        list(video.iter_frames(path))
    one_line(caught, path)
    # MP4 drops a stream with no samples altogether.
    path = tmp_path / "empty_stream.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        container.start_encoding()
    with pytest.raises(DataError, match="has no video stream") as caught:
        video.probe(path)
    one_line(caught, path)


def test_codec_without_a_decoder(tmp_path):
    # A real AVI whose stream declares AVS2 (fourcc "AVS2"): FFmpeg knows the codec
    # but the bundled build has no decoder for it (that needs libdavs2).
    if "libdavs2" in av.codecs_available:
        pytest.skip("this FFmpeg build decodes AVS2")
    path = pyav_video(tmp_path / "clip.avi", ramp(3), codec="mpeg4")
    data = path.read_bytes()
    assert data.count(b"FMP4") == 2  # the stream header's handler and the bitmap header's compression
    path.write_bytes(data.replace(b"FMP4", b"AVS2"))
    for read in (video.probe, lambda p: list(video.iter_frames(p)), video.read_frames):
        with pytest.raises(DataError, match="video codec 'avs2' is not supported \\(no decoder\\); re-encode it as H.264") as caught:
            read(path)
        one_line(caught, path)


def test_empty_file_wrong_suffix_and_missing_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="is empty") as caught:
        video.probe(empty)
    one_line(caught, empty)
    wrong = tmp_path / "clip.txt"
    wrong.write_bytes(video.write_frames(tmp_path / "clip.mp4", ramp(2)).read_bytes())
    with pytest.raises(DataError, match="reads video files") as caught:
        list(video.iter_frames(wrong))
    one_line(caught, wrong)
    with pytest.raises(DataError, match="not found") as caught:
        video.open_frames(tmp_path / "missing.mp4")
    one_line(caught, tmp_path / "missing.mp4")


def test_frames_over_the_pixel_limit(tmp_path):
    path = video.write_frames(tmp_path / "clip.mp4", ramp(2), fps=10)
    for read in (
        lambda p: video.probe(p, max_pixels=W * H - 1),
        lambda p: list(video.iter_frames(p, max_pixels=100)),
        lambda p: video.process_video(p, tmp_path / "out.mp4", lambda b: b, max_pixels=100),
    ):
        with pytest.raises(DataError, match="over the limit of") as caught:
            read(path)
        one_line(caught, path)
    assert not (tmp_path / "out.mp4").exists()
