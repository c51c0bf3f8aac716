"""The generated-data cache: one folder per settings, written completely or not at all."""

import json

import pytest

from shared.data.generated import MARKER, generated_dir


def test_written_once_per_settings_and_reused(tmp_path):
    calls = []

    def write(folder):
        calls.append(folder)
        (folder / "a.txt").write_text("x")

    first = generated_dir("demo", {"seed": 0}, write, root=tmp_path)
    again = generated_dir("demo", {"seed": 0}, write, root=tmp_path)
    other = generated_dir("demo", {"seed": 1}, write, root=tmp_path)
    assert first == again != other
    assert len(calls) == 2 and (first / "a.txt").read_text() == "x"
    assert json.loads((first / MARKER).read_text())


def test_failed_generation_leaves_nothing_behind(tmp_path):
    def broken(folder):
        (folder / "half.txt").write_text("x")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        generated_dir("demo", {"seed": 0}, broken, root=tmp_path)
    assert not any(tmp_path.iterdir()) or all(not (p / MARKER).exists() for p in tmp_path.iterdir())
    folder = generated_dir("demo", {"seed": 0}, lambda f: (f / "ok.txt").write_text("y"), root=tmp_path)
    assert (folder / "ok.txt").read_text() == "y" and not (folder / "half.txt").exists()
