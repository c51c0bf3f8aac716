"""The `dlsuite` command: each bad input is one error line and exit status 2."""

import json
import re
import shutil

import pandas as pd
import pytest
from tests_support import one_error_line
from tests_support import run_cli as run

from shared.cli.main import main
from shared.domain import discover


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "fraud_detection:" in out and "--task classifier (default)" in out and "model types: mlp" in out


def test_unknown_domain_and_task(capsys):
    code, _, err = run(capsys, "train", "fraud_detecton")
    assert code == 2
    line = one_error_line(err, "unknown domain 'fraud_detecton'; choose one of:", "Did you mean 'fraud_detection'?")
    assert all(name in line for name in discover().names())
    code, _, err = run(capsys, "train", "fraud_detection", "--task", "nope")
    assert code == 2 and "unknown task of fraud_detection 'nope'" in one_error_line(err)


def test_unknown_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "fraud_detection", "--epochs", "3"])
    assert info.value.code == 2
    assert "unrecognized arguments: --epochs 3" in one_error_line(capsys.readouterr().err)
    with pytest.raises(SystemExit):
        main(["export", "x", "--format", "onnx"])
    assert "invalid choice: 'onnx'" in one_error_line(capsys.readouterr().err)


def test_bad_config_key(capsys):
    code, _, err = run(capsys, "train", "fraud_detection", "--set", "trainer.epoch=1")
    assert code == 2 and "config error at trainer.epoch: unknown key" in one_error_line(err)


def test_missing_data_file(capsys, tmp_path):
    code, _, err = run(capsys, "train", "fraud_detection", "--data", str(tmp_path / "none.csv"))
    assert code == 2 and "data file not found" in one_error_line(err)


def test_unreadable_run_directories(capsys, tmp_path):
    code, _, err = run(capsys, "predict", str(tmp_path / "nope"), "x.csv")
    assert code == 2 and "run directory not found" in one_error_line(err)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.yaml", "metadata.json", "model.keras"):
        (broken / name).write_text("{not really")
    code, _, err = run(capsys, "predict", str(broken), "x.csv")
    assert code == 2 and "is unreadable" in one_error_line(err)
    code, _, err = run(capsys, "train", "--resume", str(tmp_path))
    assert code == 2 and "no config.yaml there" in one_error_line(err)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f.drop(columns=["amount"]), "missing column(s) 'amount'"),
        (lambda f: f.assign(amount=f["amount"].astype(object).where(f.index != 3, "12,50")), "column 'amount' has non-numeric value '12,50' at row 4"),
        (lambda f: f.assign(distance_from_home_km=f["distance_from_home_km"].where(f.index != 5)), "column 'distance_from_home_km' has 1 missing or infinite value(s), first at row 6"),
        (lambda f: f.assign(category=f["category"].where(f.index != 0)), "column 'category' has missing values, first at row 1"),
    ],
)
def test_bad_prediction_inputs(capsys, tmp_path, fraud_run, fraud_csv, mutate, message):
    bad = tmp_path / "bad.csv"
    mutate(pd.read_csv(fraud_csv)).to_csv(bad, index=False)
    code, out, err = run(capsys, "predict", str(fraud_run), str(bad))
    assert code == 2 and out == ""
    assert message in one_error_line(err)


def test_empty_input_file(capsys, tmp_path, fraud_run):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(capsys, "predict", str(fraud_run), str(empty))
    assert code == 2 and "data file is empty" in one_error_line(err)


def test_training_on_a_bad_file_names_the_problem(capsys, tmp_path, fraud_csv):
    bad = tmp_path / "no_target.csv"
    pd.read_csv(fraud_csv).drop(columns=["is_fraud"]).to_csv(bad, index=False)
    code, _, err = run(capsys, "train", "fraud_detection", "--data", str(bad), "--run-dir", str(tmp_path / "run"))
    assert code == 2 and "missing column(s) 'is_fraud'" in one_error_line(err)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "failed"


def test_predict_evaluate_explain_export(capsys, tmp_path, fraud_run, fraud_csv):
    code, out, _ = run(capsys, "predict", str(fraud_run), str(fraud_csv))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "transaction_id,score,decision" and len(lines) == 1501
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} <= {"alert", "pass"}

    out_file = tmp_path / "scores.csv"
    assert run(capsys, "predict", str(fraud_run), str(fraud_csv), "-o", str(out_file))[0] == 0
    assert len(pd.read_csv(out_file)) == 1500

    code, out, _ = run(capsys, "evaluate", str(fraud_run), "--data", str(fraud_csv))
    positive_rate = pd.read_csv(fraud_csv)["is_fraud"].mean()
    assert code == 0 and json.loads(out)["auprc"] > 2 * positive_rate  # a random ranking scores the positive rate

    code, out, _ = run(capsys, "explain", str(fraud_run), str(fraud_csv), "--row", "3")
    assert code == 0 and "integrated gradients" in out and "amount" in out

    for fmt, name in (("keras", "export.keras"), ("tflite", "model.tflite")):
        code, out, _ = run(capsys, "export", str(fraud_run), "--format", fmt)
        assert code == 0 and (fraud_run / name).stat().st_size > 0


def test_data_pack(capsys, tmp_path, fraud_csv):
    out = tmp_path / "pack"
    code, stdout, err = run(capsys, "data", "pack", "fraud_detection", "--data", str(fraud_csv), "--out", str(out), "--set", "data.chunk_rows=500")
    assert code == 0
    assert f"into {out} (train 1,050, validation 225, test 225 rows)" in stdout
    assert f"dlsuite train fraud_detection --task classifier --data {out}" in stdout
    assert "packed 1,500 rows (train 1,050, validation 225, test 225)" in err
    assert (out / "pack.json").is_file() and (out / "train" / "manifest.json").is_file()


def _damage(path, flip: bool):
    data = bytearray(path.read_bytes())
    if flip:
        data[len(data) // 2] ^= 0xFF
    else:
        del data[-20:]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage, extra, message",
    [
        (lambda p: (p / "train" / "part-00001.tfrecord").unlink(), [], r"train/part-00001.tfrecord listed in the manifest is missing"),
        (lambda p: _damage(p / "test" / "part-00000.tfrecord", flip=True), [], r"test/part-00000.tfrecord does not match its manifest checksum"),
        (lambda p: _damage(p / "validation" / "part-00000.tfrecord", flip=False), [], r"validation/part-00000.tfrecord does not match its manifest checksum"),
        # Unverified, the corrupt record is met while streaming: still one line, naming the shard.
        (
            lambda p: _damage(p / "train" / "part-00002.tfrecord", flip=True),
            ["--set", "data.verify_shards=false"],
            r"train/part-00002.tfrecord does not match its manifest checksum .*; reading it failed with: corrupted record at \d+",
        ),
        (lambda p: (p / "pack.json").write_text('{"format": 1, "domain"'), [], r"pack.json is unreadable"),
        (lambda p: (p / "validation" / "manifest.json").write_bytes(b"\xff\xfe"), [], r"validation/manifest.json is unreadable"),
    ],
)
def test_training_from_a_damaged_pack(capsys, tmp_path, fraud_pack, damage, extra, message):
    pack = tmp_path / "pack"
    shutil.copytree(fraud_pack, pack)
    damage(pack)
    code, _, err = run(capsys, "train", "fraud_detection", "--data", str(pack), "--run-dir", str(tmp_path / "run"), *extra)
    assert code == 2 and re.search(message, one_error_line(err))


def test_data_pack_errors(capsys, tmp_path, fraud_csv):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run(capsys, "data", "pack", "fraud_detection", "--data", str(fraud_csv), "--out", str(mine))
    assert code == 2 and "is an existing directory, not a packed data set (no pack.json)" in one_error_line(err)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]

    code, _, err = run(capsys, "data", "pack", "fraud_detection", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "p"))
    assert code == 2 and "data file not found" in one_error_line(err)
    with pytest.raises(SystemExit) as info:
        main(["data", "pack", "fraud_detection", "--out", str(tmp_path / "p")])
    assert info.value.code == 2 and "the following arguments are required: --data" in one_error_line(capsys.readouterr().err)

    code, _, err = run(capsys, "data", "pack", "fraud_detection", "--task", "sequence", "--data", str(fraud_csv), "--out", str(tmp_path / "p"))
    assert code == 2 and "the sequence task reads each card's whole transaction history" in one_error_line(err)
    assert not (tmp_path / "p").exists()
