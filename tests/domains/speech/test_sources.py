import json
import os

import numpy as np
import pandas as pd
import pytest

from domains.speech.config import SILENCE, UNKNOWN
from domains.speech.sources import hash_splits, read_keyword_folder, read_transcripts, speaker_of, which_set
from domains.speech.synthetic import DESCRIPTION
from shared.errors import DataError
from shared.inputs.audio import write_audio

RATE = 16_000


def tone(path, freq=440.0, seconds=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return write_audio(path, 0.3 * np.sin(2 * np.pi * freq * t), RATE)


def assert_one_line(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def keyword_tree(root, words=("yes", "no", "cat"), speakers=6, clips=1):
    for i, word in enumerate(words):
        for s in range(speakers):
            for n in range(clips):
                tone(root / word / f"spk{s:02d}_nohash_{n}.wav", 300 + 50 * i)
    return root


@pytest.fixture
def tree(tmp_path):
    root = keyword_tree(tmp_path / "kw")
    tone(root / "_background_noise_" / "hiss.wav", 1000, 2.0)
    return root


# --- keyword folders -----------------------------------------------------------------


def test_labels_speakers_unknown_mapping_and_noise(tree):
    (tree / "yes" / "notes.txt").write_text("not audio")
    tone(tree / "yes" / ".hidden_nohash_0.wav")
    tone(tree / "no" / "plain.wav")
    listing = read_keyword_folder(tree, ["yes", "no"])
    clips = listing.clips
    assert list(clips.columns) == ["path", "label", "speaker", "split"]
    assert listing.keywords == ["yes", "no"]
    assert set(clips.loc[clips["path"].str.contains("/cat/"), "label"]) == {UNKNOWN}
    assert (clips["label"] == "yes").sum() == 6 and (clips["label"] == "no").sum() == 7
    assert "plain" in set(clips["speaker"]) and "spk00" in set(clips["speaker"])
    assert not clips["path"].str.contains("hidden|_background_noise_").any()
    assert [p.name for p in listing.noise_files] == ["hiss.wav"]
    assert listing.provenance["ignored_files"] == 1 and listing.provenance["unknown_words"] == ["cat"]
    assert listing.provenance["clips"] == len(clips) == 19
    assert listing.provenance["source"] == str(tree)


def test_every_label_folder_is_a_keyword_when_none_are_named(tree):
    tone(tree / UNKNOWN / "x_nohash_0.wav")
    tone(tree / SILENCE / "quiet_nohash_0.wav", 50)
    listing = read_keyword_folder(tree)
    assert listing.keywords == ["cat", "no", "yes"]
    assert set(listing.clips["label"]) == {"cat", "no", "yes", UNKNOWN, SILENCE}


def test_speaker_of():
    assert speaker_of("yes/0a7c2a8d_nohash_1.wav") == "0a7c2a8d"
    assert speaker_of("yes/recording.wav") == "recording"


def test_hash_split_keeps_each_speaker_in_one_split(tmp_path):
    root = keyword_tree(tmp_path / "many", speakers=80, clips=2, words=("yes", "no"))
    listing = read_keyword_folder(root)
    clips = listing.clips
    assert (clips.groupby("speaker")["split"].nunique() == 1).all()
    assert set(clips["split"]) == {"train", "validation", "test"}
    assert "which_set" in listing.provenance["split"] and "dealt out" not in listing.provenance["split"]
    for speaker, split in clips.groupby("speaker")["split"].first().items():
        assert split == which_set(speaker, 10.0, 10.0)
    assert listing.provenance["speakers_in_several_splits"] == 0
    assert read_keyword_folder(root).clips.equals(clips)  # stable


def test_few_speakers_are_dealt_out_so_every_split_has_one(tree):
    listing = read_keyword_folder(tree)
    clips = listing.clips
    per_split = clips.groupby("split")["speaker"].nunique()
    assert per_split.to_dict() == {"test": 1, "train": 4, "validation": 1}
    assert (clips.groupby("speaker")["split"].nunique() == 1).all()
    assert "dealt out" in listing.provenance["split"]


def test_which_set_gives_the_requested_shares():
    splits = pd.Series([which_set(f"speaker{i}", 10.0, 20.0) for i in range(20_000)]).value_counts(normalize=True)
    assert splits["validation"] == pytest.approx(0.1, abs=0.01)
    assert splits["test"] == pytest.approx(0.2, abs=0.01)
    assert which_set("abc", 10.0, 10.0) == which_set("abc", 10.0, 10.0)


def test_hash_split_needs_three_keys():
    with pytest.raises(DataError) as info:
        hash_splits(["a", "b", "a"], 10.0, 10.0, "speaker")
    assert_one_line(info, "at least 3 different speakers", "found 2")


def test_split_false_marks_every_clip_for_evaluation(tree):
    listing = read_keyword_folder(tree, ["yes"], split=False)
    assert set(listing.clips["split"]) == {"test"}
    assert "evaluation" in listing.provenance["split"]


def test_list_files_are_honoured(tree):
    (tree / "validation_list.txt").write_text("yes/spk00_nohash_0.wav\nno/spk00_nohash_0.wav\n\n")
    (tree / "testing_list.txt").write_text("cat/spk01_nohash_0.wav\n")
    listing = read_keyword_folder(tree, ["yes", "no"])
    split = dict(zip(listing.clips["path"].map(lambda p: "/".join(p.split("/")[-2:])), listing.clips["split"]))
    assert split["yes/spk00_nohash_0.wav"] == split["no/spk00_nohash_0.wav"] == "validation"
    assert split["cat/spk01_nohash_0.wav"] == "test"
    assert split["cat/spk00_nohash_0.wav"] == "train"
    assert sum(v != "train" for v in split.values()) == 3
    assert "validation_list.txt and testing_list.txt" in listing.provenance["split"]


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ("../outside.wav", "leaves the folder"),
        ("/etc/passwd", "absolute path"),
        ("C:\\clips\\yes.wav", "absolute path"),
        ("yes/missing_nohash_0.wav", "is not a file"),
        ("_background_noise_/hiss.wav", "is not an audio clip in a label folder"),
    ],
)
def test_bad_list_entries_are_refused(tree, entry, fragment):
    tone(tree.parent / "outside.wav")
    (tree / "testing_list.txt").write_text(f"yes/spk00_nohash_0.wav\n{entry}\n")
    with pytest.raises(DataError) as info:
        read_keyword_folder(tree)
    assert_one_line(info, "testing_list.txt line 2", fragment)


def test_a_clip_in_both_lists_is_refused(tree):
    (tree / "validation_list.txt").write_text("yes/spk00_nohash_0.wav\n")
    (tree / "testing_list.txt").write_text("yes/spk00_nohash_0.wav\n")
    with pytest.raises(DataError) as info:
        read_keyword_folder(tree)
    assert_one_line(info, "also in validation_list.txt")


def test_missing_and_empty_folders_are_refused(tmp_path):
    with pytest.raises(DataError) as info:
        read_keyword_folder(tmp_path / "nope")
    assert_one_line(info, "keyword folder not found")
    (tmp_path / "file.wav").write_bytes(b"x")
    with pytest.raises(DataError) as info:
        read_keyword_folder(tmp_path / "file.wav")
    assert_one_line(info, "got a file")
    empty = tmp_path / "empty"
    (empty / "_background_noise_").mkdir(parents=True)
    with pytest.raises(DataError) as info:
        read_keyword_folder(empty)
    assert_one_line(info, "no label folders")
    (empty / "yes").mkdir()
    (empty / "yes" / "readme.md").write_text("x")
    with pytest.raises(DataError) as info:
        read_keyword_folder(empty)
    assert_one_line(info, "no audio clips")


def test_keyword_without_clips_is_refused(tree):
    (tree / "up").mkdir()
    with pytest.raises(DataError) as info:
        read_keyword_folder(tree, ["yes", "up", "left"])
    assert_one_line(info, "'up', 'left'", "have no clips", "cat, no, yes")
    with pytest.raises(DataError) as info:
        read_keyword_folder(tree, ["yes", UNKNOWN])
    assert_one_line(info, "cannot be a keyword")


def test_links_outside_the_folder_are_refused_inside_ones_kept(tree, tmp_path):
    outside = tone(tmp_path / "elsewhere" / "spk99_nohash_0.wav")
    os.symlink(tree / "yes" / "spk00_nohash_0.wav", tree / "no" / "spk50_nohash_0.wav")
    assert len(read_keyword_folder(tree).clips) == 19
    os.symlink(outside, tree / "yes" / "spk99_nohash_0.wav")
    with pytest.raises(DataError) as info:
        read_keyword_folder(tree)
    assert_one_line(info, "spk99_nohash_0.wav is a link to a file outside")
    os.remove(tree / "yes" / "spk99_nohash_0.wav")
    os.symlink(outside.parent, tree / "up")
    with pytest.raises(DataError) as info:
        read_keyword_folder(tree)
    assert_one_line(info, "is a link to a folder outside")


def test_synthetic_marker_is_recorded(tree):
    (tree / DESCRIPTION).write_text(json.dumps({"synthetic": True, "what": "test clips", "generator": "espeak-ng"}))
    provenance = read_keyword_folder(tree).provenance
    assert provenance["source"].startswith("synthetic speech: test clips") and provenance["path"] == str(tree)


# --- transcripts ---------------------------------------------------------------------


def ljspeech(root, rows, speakers=None):
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    for clip, *_ in rows:
        tone(root / "wavs" / f"{clip}.wav")
    (root / "metadata.csv").write_text("".join("|".join(r) + "\n" for r in rows))
    if speakers:
        (root / "speakers.csv").write_text("id,speaker\n" + "".join(f"{c},{s}\n" for c, s in speakers.items()))
    return root


def test_ljspeech_folder_or_metadata_uses_the_normalized_text(tmp_path):
    rows = [(f"LJ001-{i:04d}", f"Text {i}, Dr. Smith", f"text {i} doctor smith" if i % 2 else "") for i in range(40)]
    root = ljspeech(tmp_path / "lj", rows)
    data = read_transcripts(root)
    assert data.frame.equals(read_transcripts(root / "metadata.csv").frame)
    frame = data.frame
    assert list(frame.columns) == ["path", "transcript", "speaker", "split"]
    assert frame["transcript"][1] == "text 1 doctor smith" and frame["transcript"][0] == "Text 0, Dr. Smith"
    assert frame["path"][0].endswith("wavs/LJ001-0000.wav")
    assert frame["speaker"].isna().all() and "audio path" in data.provenance["split"]
    assert data.provenance["format"].startswith("LJSpeech")


def test_ljspeech_quotes_are_text_not_quoting(tmp_path):
    root = ljspeech(tmp_path / "lj", [("a", '"Hello," she said', ""), ("b", "x", "y"), ("c", "z", "")])
    assert read_transcripts(root).frame["transcript"][0] == '"Hello," she said'


def test_speakers_csv_gives_speaker_disjoint_splits(tmp_path):
    rows = [(f"s{i % 12}_{i}", f"words {i}", "") for i in range(96)]
    root = ljspeech(tmp_path / "lj", rows, speakers={r[0]: r[0].split("_")[0] for r in rows})
    frame = read_transcripts(root).frame
    assert frame["speaker"].nunique() == 12
    assert (frame.groupby("speaker")["split"].nunique() == 1).all()
    assert set(frame["split"]) == {"train", "validation", "test"}


def test_common_voice_tsv_with_clips_folder(tmp_path):
    root = tmp_path / "cv"
    rows = []
    for i in range(30):
        tone(root / "clips" / f"common_voice_en_{i}.wav")
        rows.append(f"client{i % 5}\tcommon_voice_en_{i}.mp3\t\"Quoted\" sentence {i}\t2\t0")
    (root / "validated.tsv").write_text("client_id\tpath\tsentence\tup_votes\tdown_votes\n" + "\n".join(rows) + "\n")
    data = read_transcripts(root / "validated.tsv")
    frame = data.frame
    assert len(frame) == 30 and frame["path"][0].endswith("clips/common_voice_en_0.wav")  # the converted clip beside the .mp3
    assert frame["transcript"][0] == '"Quoted" sentence 0'
    assert frame["speaker"].nunique() == 5 and (frame.groupby("speaker")["split"].nunique() == 1).all()
    assert data.provenance["format"] == "Common Voice .tsv"


def test_common_voice_mp3_without_conversion_is_refused(tmp_path):
    root = tmp_path / "cv"
    (root / "clips").mkdir(parents=True)
    (root / "clips" / "a.mp3").write_bytes(b"ID3")
    (root / "test.tsv").write_text("client_id\tpath\tsentence\nc1\ta.mp3\thello\n")
    with pytest.raises(DataError) as info:
        read_transcripts(root / "test.tsv")
    assert_one_line(info, ".mp3", "ffmpeg")


def test_tsv_audio_beside_it_without_clips_folder(tmp_path):
    for i in range(5):
        tone(tmp_path / f"{i}.wav")
    (tmp_path / "set.tsv").write_text("path\tsentence\n" + "".join(f"{i}.wav\tsay {i}\n" for i in range(5)))
    frame = read_transcripts(tmp_path / "set.tsv").frame
    assert frame["path"][4] == str(tmp_path / "4.wav") and frame["speaker"].isna().all()


def test_plain_csv_with_optional_speaker(tmp_path):
    for i in range(9):
        tone(tmp_path / "audio" / f"{i}.wav")
    pd.DataFrame({"path": [f"audio/{i}.wav" for i in range(9)], "transcript": ["null", "nan", "123"] * 3, "speaker": [f"p{i % 3}" for i in range(9)]}).to_csv(
        tmp_path / "list.csv", index=False
    )
    data = read_transcripts(tmp_path / "list.csv")
    frame = data.frame
    assert frame["transcript"].tolist()[:3] == ["null", "nan", "123"]
    assert frame["speaker"].nunique() == 3 and "speaker" in data.provenance["split"]
    assert data.provenance["format"] == "path,transcript .csv"
    pd.DataFrame({"path": [f"audio/{i}.wav" for i in range(9)], "transcript": ["x"] * 9}).to_csv(tmp_path / "plain.csv", index=False)
    assert read_transcripts(tmp_path / "plain.csv").frame["speaker"].isna().all()


def test_missing_columns_are_named(tmp_path):
    (tmp_path / "a.csv").write_text("file,text\nx.wav,hello\n")
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path / "a.csv")
    assert_one_line(info, "missing column(s) 'path', 'transcript'", "found: file, text")
    (tmp_path / "b.tsv").write_text("path\ttext\nx.wav\thello\n")
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path / "b.tsv")
    assert_one_line(info, "missing column(s) 'sentence'")


def test_empty_transcripts_are_refused_with_their_rows(tmp_path):
    for i in range(9):
        tone(tmp_path / f"{i}.wav")
    texts = ["", "ok", " ", "", "ok", "", "", "", ""]
    pd.DataFrame({"path": [f"{i}.wav" for i in range(9)], "transcript": texts}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path / "m.csv")
    assert_one_line(info, "7 row(s) with an empty transcript", "row(s) 1, 3, 4, 6, 7 (and 2 more)", "remove those rows")
    root = ljspeech(tmp_path / "lj", [("a", "hello", ""), ("b", "", ""), ("c", "x", "")])
    with pytest.raises(DataError) as info:
        read_transcripts(root)
    assert_one_line(info, "1 row(s) with an empty transcript: row(s) 2", "line numbers")


@pytest.mark.parametrize("raw", ["../outside.wav", "sub/../../outside.wav", "ABSOLUTE"])
def test_audio_paths_leaving_the_folder_are_refused(tmp_path, raw):
    outside = tone(tmp_path / "outside.wav")
    folder = tmp_path / "set"
    tone(folder / "in.wav")
    raw = str(outside) if raw == "ABSOLUTE" else raw
    pd.DataFrame({"path": ["in.wav", raw], "transcript": ["a", "b"]}).to_csv(folder / "m.csv", index=False)
    with pytest.raises(DataError) as info:
        read_transcripts(folder / "m.csv")
    assert_one_line(info, "row 2", "leaves the folder")


def test_ljspeech_id_cannot_leave_wavs(tmp_path):
    root = ljspeech(tmp_path / "lj", [("a", "hello", "")])
    (root / "metadata.csv").write_text("a|hello|\n../../x|bye|\n")
    with pytest.raises(DataError) as info:
        read_transcripts(root)
    assert_one_line(info, "line 2", "is not a file name")


def test_missing_audio_files_are_refused(tmp_path):
    tone(tmp_path / "0.wav")
    pd.DataFrame({"path": ["0.wav", "1.wav", "2.wav"], "transcript": ["a", "b", "c"]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path / "m.csv")
    assert_one_line(info, "2 missing audio file(s)", "1.wav")


def test_unknown_transcript_sources_are_refused(tmp_path):
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path / "none.csv")
    assert_one_line(info, "not found")
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path)
    assert_one_line(info, "has no metadata.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError) as info:
        read_transcripts(tmp_path / "x.json")
    assert_one_line(info, "cannot read transcripts")


def test_transcripts_for_evaluation_are_all_test(tmp_path):
    root = ljspeech(tmp_path / "lj", [("a", "one", ""), ("b", "two", "")])
    assert set(read_transcripts(root, split=False).frame["split"]) == {"test"}


def test_keyword_truth_csv(tmp_path):
    from domains.speech.sources import read_keyword_truth

    good = tmp_path / "rec.csv"
    good.write_text("keyword,start,end\nyes,1.0,2.0\ncat,3.0,4.0\n")
    truth = read_keyword_truth(good, ["yes", "no"])
    assert truth.to_dict("list") == {"word": ["yes", "cat"], "start": [1.0, 3.0], "end": [2.0, 4.0], "is_keyword": [True, False]}
    (tmp_path / "cols.csv").write_text("word,begin\nyes,1\n")
    with pytest.raises(DataError, match="needs columns keyword,start,end"):
        read_keyword_truth(tmp_path / "cols.csv", ["yes"])
    (tmp_path / "times.csv").write_text("keyword,start,end\nyes,2.0,1.0\n")
    with pytest.raises(DataError, match="row 2: start and end"):
        read_keyword_truth(tmp_path / "times.csv", ["yes"])
