"""The shared audio, text and video readers: real decoding, and one line for every bad file."""

import numpy as np
import pytest

from shared import inputs
from shared.domain import InputKind
from shared.errors import DataError
from shared.inputs import audio, text, video


def test_audio_round_trip_resamples_to_the_model_rate(tmp_path):
    rate = 44_100
    t = np.arange(rate) / rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = audio.write_audio(tmp_path / "tone.wav", wave, rate)
    assert audio.audio_info(path) == (rate, 1, 1.0)
    decoded, got = audio.read_audio(path, sample_rate=16_000)
    assert got == 16_000 and decoded.shape == (16_000,) and decoded.dtype == np.float32
    # 440 Hz survives resampling: the spectrum peaks there.
    peak = np.argmax(np.abs(np.fft.rfft(decoded))) * 16_000 / len(decoded)
    assert abs(peak - 440) < 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("noise.wav", b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "could not read"),
        ("empty.wav", b"", "is empty"),
        ("clip.mp3", b"ID3", "reads audio files"),
    ],
)
def test_bad_audio_is_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        audio.read_audio(path)
    assert "\n" not in str(caught.value) and name in str(caught.value)


def test_audio_longer_than_the_limit_is_refused_from_its_header(tmp_path):
    path = audio.write_audio(tmp_path / "long.wav", np.zeros(8000 * 3), 8000)
    with pytest.raises(DataError, match="3 s long; the limit is 2 s"):
        audio.read_audio(path, max_seconds=2)


def test_text_lines_and_bad_text(tmp_path):
    good = tmp_path / "reviews.txt"
    good.write_text("\ufeffGreat film\n\n  Dull plot  \n", encoding="utf-8")
    assert text.read_lines(good) == ["Great film", "Dull plot"]
    latin = tmp_path / "latin.txt"
    latin.write_bytes("ok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 2\)"):
        text.read_lines(latin)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"abc\x00def")
    with pytest.raises(DataError, match="NUL bytes"):
        text.read_lines(binary)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n")
    with pytest.raises(DataError, match="holds no text"):
        text.read_lines(blank)


def test_video_round_trip_and_frame_sampling(tmp_path):
    frames = np.repeat(np.linspace(0, 255, 12, dtype=np.uint8)[:, None, None, None], 3, axis=-1) * np.ones((12, 32, 48, 3), np.uint8)
    path = video.write_frames(tmp_path / "clip.mp4", frames, fps=10)
    decoded, fps = video.read_frames(path, max_frames=16)
    assert decoded.shape == (12, 32, 48, 3) and fps == 10.0
    # Lossy codec: the mean brightness of each frame follows the source ramp.
    np.testing.assert_allclose(decoded.reshape(12, -1).mean(axis=1), frames.reshape(12, -1).mean(axis=1), atol=8)
    every_third, _ = video.read_frames(path, max_frames=16, stride=3)
    assert len(every_third) == 4
    with pytest.raises(DataError, match="over the limit"):
        video.read_frames(path, max_pixels=100)


def test_bad_video_is_one_line(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(DataError, match="could not decode .*broken.mp4 as video|no video stream|no decodable"):
        video.read_frames(path)


@pytest.mark.parametrize("kind", list(InputKind))
def test_every_input_kind_has_suffixes_and_names_a_wrong_file(tmp_path, kind):
    assert inputs.SUFFIXES[kind.value]
    wrong = tmp_path / "input.xyz"
    wrong.write_bytes(b"data")
    with pytest.raises(DataError, match=f"this task reads {kind.value} files"):
        inputs.require_kind(wrong, kind)
    assert inputs.require_kind(wrong, kind, extra_suffixes=(".xyz",)) == wrong


def test_a_table_row_out_of_range_names_the_valid_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    frame, index = inputs.table_row(path, 2)
    assert index == 1 and list(frame["a"]) == [1, 3]
    with pytest.raises(DataError, match="row 3 is out of range: .* has 2 rows; choose a row from 1 to 2"):
        inputs.table_row(path, 3)
