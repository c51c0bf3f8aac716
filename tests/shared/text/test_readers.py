"""`shared.text.readers`: labelled tables, class folders, sentence pairs and language codes, and one line for every bad file."""

import pytest

from shared.errors import DataError
from shared.text import readers
from shared.text.readers import (
    LabelledTexts,
    Language,
    SentencePairs,
    check_language,
    read_class_folders,
    read_labelled_texts,
    read_sentence_pairs,
)


def one_line(caught, path) -> str:
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# --- labelled tables ---------------------------------------------------------------


def test_csv_with_quoted_commas_newlines_and_integer_labels(tmp_path):
    path = write(
        tmp_path / "reviews.csv",
        'id,review,label\n1,"Great, really great",1\n2,"Line one\nline two ""quoted""",0\n\n3,"  ",1\n4,¿Qué tal? Muy bien,0\n',
    )
    data = read_labelled_texts(path, "review", "label")
    assert data == LabelledTexts(
        texts=["Great, really great", 'Line one\nline two "quoted"', "¿Qué tal? Muy bien"], labels=["1", "0", "0"], skipped=1, source=str(path)
    )
    assert data.classes == ["0", "1"] and data.notes == []


@pytest.mark.parametrize("suffix", [".tsv", ".tab", ".txt", ".TSV"])
def test_tab_separated_suffixes(tmp_path, suffix):
    path = write(tmp_path / f"data{suffix}", "text\tlabel\nhola, mundo\tpos\n\tneg\n\"a\tb\"\tneg\n")
    data = read_labelled_texts(path, "text", "label")
    assert data.texts == ["hola, mundo", "a\tb"] and data.labels == ["pos", "neg"] and data.skipped == 1


def test_a_byte_order_mark_and_windows_line_ends_are_fine(tmp_path):
    path = write(tmp_path / "bom.csv", "\ufefftext,label\r\nniño,pos\r\n".encode())
    assert read_labelled_texts(path, "text", "label").texts == ["niño"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("latin1.csv", "text,label\nok,1\ncaf\xe9,0\n".encode("latin-1"), r"latin1.csv is not UTF-8 \(line 3\); save it as UTF-8"),
        ("missing.csv", "review,sentiment,id\nok,1,1\n", r"missing.csv has no column 'text'; columns: review, sentiment, id"),
        ("fields.csv", "text,label\nok,1\nnot,quoted,1\n", r"fields.csv line 3 has 3 fields; the header \(line 1\) has 2; quote fields that hold the delimiter"),
        ("tabs.csv", "text\tlabel\nok\t1\n", r"tabs.csv has no column 'text'; columns: text\tlabel"),
        ("onefield.csv", "text,label\nok,1\njust text\n", r"line 3 has 1 fields; the header \(line 1\) has 2; if the file is split by tabs \(save it as .tsv\)"),
        ("onefield.tsv", "text\tlabel\nok,1\n", r"line 2 has 1 fields; .* if the file is split by commas \(save it as .csv\)"),
        ("empty.csv", b"", r"empty.csv is empty"),
        ("blank.csv", "\n\n", r"blank.csv holds no header and no rows"),
        ("header.csv", "text,label\n", r"header.csv holds no text: it has a header but no rows"),
        ("allempty.csv", "text,label\n,1\n  ,0\n", r"allempty.csv holds no text: all 2 rows have an empty 'text'"),
        ("nolabel.csv", "text,label\nok,1\nfine, \n", r"nolabel.csv line 3 has an empty label in column 'label'; fill it or remove the row"),
        ("junk.csv", b"\x89PNG\r\n\x1a\n\x00\x00junk", r"junk.csv holds NUL bytes \(line 3\); it is not a text file"),
        ("random.csv", bytes(range(128, 256)) * 4, r"random.csv is not UTF-8 \(line 1\)"),
        ("huge.csv", 'text,label\nok,1\n"' + "x" * 200_000 + '",1\n', r"huge.csv line \d+ could not be read as CSV: field larger than field limit .*; is a quote left open\?"),
        ("twice.csv", "text,text,label\na,b,1\n", r"twice.csv has 2 columns named 'text'; rename all but one"),
        ("table.xlsx", "text,label\n", r"table.xlsx: unsupported file type '.xlsx'; use .csv \(comma\) or .tsv, .tab, .txt \(tab\)"),
    ],
)
def test_a_bad_table_is_one_line(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message) as caught:
        read_labelled_texts(path, "text", "label")
    one_line(caught, path)


def test_a_multi_line_row_is_named_by_its_first_line(tmp_path):
    path = write(tmp_path / "multi.csv", 'text,label\n"one\ntwo\nthree",1\nbad,row,1\n')
    with pytest.raises(DataError, match=r"multi.csv line 5 has 3 fields"):
        read_labelled_texts(path, "text", "label")
    path = write(tmp_path / "multi2.csv", 'text,label\nok,1\n"one\ntwo",\n')
    with pytest.raises(DataError, match=r"multi2.csv line 3 has an empty label"):
        read_labelled_texts(path, "text", "label")


def test_missing_too_large_and_directory_tables(tmp_path):
    with pytest.raises(DataError, match="data file not found: .*nope.csv"):
        read_labelled_texts(tmp_path / "nope.csv", "text", "label")
    with pytest.raises(DataError, match="expected a data file, got a directory"):
        read_labelled_texts(tmp_path, "text", "label")
    path = write(tmp_path / "big.csv", "text,label\n" + "some text,1\n" * 200)
    with pytest.raises(DataError, match=r"big.csv is 0.0 MB; the limit for a data file is 0 MB \(pass a larger max_bytes, or split the file\)"):
        read_labelled_texts(path, "text", "label", max_bytes=100)
    assert len(read_labelled_texts(path, "text", "label", max_bytes=10_000).texts) == 200


# --- class folders -----------------------------------------------------------------


def imdb(root):
    """The aclImdb layout, in small."""
    for split in ("train", "test"):
        write(root / split / "pos" / "0_9.txt", "A <br />great film.")
        write(root / split / "pos" / "1_8.txt", "Loved it 😀")
        write(root / split / "neg" / "0_2.txt", "Dull.")
        write(root / split / "neg" / "1_1.txt", "  \n")
        write(root / split / f"urls_pos{split}.txt", "http://example.com/1\n")
        write(root / split / "labeledBow.feat", "0:1\n")
    write(root / "train" / "unsup" / "0_0.txt", "No label.")
    write(root / "train" / "unsup" / "1_0.txt", "None here either.")
    write(root / "train" / ".ipynb_checkpoints" / "x.txt", "hidden")
    return root


def test_the_aclimdb_layout_with_a_split(tmp_path):
    root = imdb(tmp_path / "aclImdb")
    data = read_class_folders(root, split="train")
    assert data.texts == ["Dull.", "A <br />great film.", "Loved it 😀"] and data.labels == ["neg", "pos", "pos"]
    assert data.skipped == 1 and data.source == str(root / "train") and data.classes == ["neg", "pos"]
    assert data.notes == [f"left out {root / 'train' / 'unsup'} (2 .txt files): a folder named 'unsup' holds unlabelled texts"]
    assert read_class_folders(root, split="test").notes == []


def test_flat_label_folders_and_another_suffix(tmp_path):
    write(tmp_path / "happy" / "a.md", "Sí, ¡claro!")
    write(tmp_path / "happy" / "b.MD", "Genial")
    write(tmp_path / "sad" / "c.md", "No.")
    write(tmp_path / "sad" / "skip.txt", "not read")
    data = read_class_folders(tmp_path, suffix=".md")
    assert data.texts == ["Sí, ¡claro!", "Genial", "No."] and data.labels == ["happy", "happy", "sad"]


@pytest.mark.parametrize(
    "setup, split, message",
    [
        ("split_layout", None, r"holds split folders \(test, train\), which hold label folders; pass split= one of them"),
        ("split_layout", "dev", r"has no split folder 'dev'; folders found: test, train"),
        ("no_folders", None, r"has no label folders holding .txt files; expected .*/<label>/\*.txt or .*/<split>/<label>/\*.txt \(e.g. aclImdb/train/pos/0_9.txt\)"),
        ("empty_label", None, r"holds no .txt files; remove the folder or add its texts"),
        ("latin1", None, r"bad.txt is not UTF-8 \(line 2\); save it as UTF-8"),
        ("all_empty", None, r"every .txt file under .* is empty"),
    ],
)
def test_bad_class_folders_are_one_line(tmp_path, setup, split, message):
    root = tmp_path / "data"
    if setup == "split_layout":
        imdb(root)
    elif setup == "no_folders":
        write(root / "loose.txt", "a text outside any label folder")
    elif setup == "empty_label":
        write(root / "pos" / "a.txt", "good")
        (root / "neg").mkdir()
    elif setup == "latin1":
        write(root / "pos" / "a.txt", "good")
        write(root / "neg" / "bad.txt", "line one\ncaf\xe9".encode("latin-1"))
    elif setup == "all_empty":
        write(root / "pos" / "a.txt", " ")
    with pytest.raises(DataError, match=message) as caught:
        read_class_folders(root, split=split)
    one_line(caught, root)


def test_a_split_that_holds_splits_is_one_line(tmp_path):
    imdb(tmp_path / "v1" / "aclImdb")
    with pytest.raises(DataError, match=r"v1 holds split folders \(aclImdb\), which hold label folders; .*v1 must hold label folders of .txt files"):
        read_class_folders(tmp_path, split="v1")


def test_class_folders_missing_a_file_or_too_large(tmp_path):
    with pytest.raises(DataError, match="data folder not found: .*nope"):
        read_class_folders(tmp_path / "nope")
    path = write(tmp_path / "file.txt", "x")
    with pytest.raises(DataError, match="expected a folder of class folders, got a file"):
        read_class_folders(path)
    root = imdb(tmp_path / "aclImdb")
    with pytest.raises(DataError, match=r"holds more than 0 MB of .txt files \(reached at .*\); pass a larger max_bytes"):
        read_class_folders(root, split="train", max_bytes=10)


# --- sentence pairs ----------------------------------------------------------------


def test_tatoeba_pairs_with_attribution_quotes_and_blank_lines(tmp_path):
    path = write(
        tmp_path / "spa.txt",
        'Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\r\n'
        '"Hi," he said.\t"Hola", dijo él.\n'
        "\n"
        "  Where's the boy?  \t ¿Dónde está el niño? \textra\tmore\n",
    )
    pairs = read_sentence_pairs(path)
    assert pairs == SentencePairs(
        sources=["Go.", '"Hi," he said.', "Where's the boy?"],
        targets=["Ve.", '"Hola", dijo él.', "¿Dónde está el niño?"],
        extra_columns=2,
        source=str(path),
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("Go.\tVe.\nno tab here\n", r"pairs.tsv line 2 has 1 column; expected source<TAB>target\[<TAB>attribution\]"),
        ("Go.\tVe.\n \tVete.\n", r"pairs.tsv line 2 has an empty source \(column 1\)"),
        ("Go.\tVe.\n\nRun!\t  \n", r"pairs.tsv line 3 has an empty target \(column 2\)"),
        ("Go.\tVe.\nCafé\tcaf\xe9\n".encode("latin-1"), r"pairs.tsv is not UTF-8 \(line 2\); save it as UTF-8"),
        (b"", r"pairs.tsv is empty"),
        ("\n \n\t\n", r"pairs.tsv holds no sentence pairs; expected source<TAB>target\[<TAB>attribution\] lines"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", r"pairs.tsv holds NUL bytes \(line 1\); it is not a text file"),
        ("Go.\tVe.\n" + "x" * 100_001 + "\ty\n", r"pairs.tsv line 2 has 100,003 characters; the limit for a sentence pair is 100,000"),
    ],
)
def test_bad_sentence_pairs_are_one_line(tmp_path, content, message):
    path = write(tmp_path / "pairs.tsv", content)
    with pytest.raises(DataError, match=message) as caught:
        read_sentence_pairs(path)
    one_line(caught, path)


def test_sentence_pairs_missing_or_too_large(tmp_path):
    with pytest.raises(DataError, match="sentence-pair file not found: .*nope.tsv"):
        read_sentence_pairs(tmp_path / "nope.tsv")
    path = write(tmp_path / "pairs.tsv", "Go.\tVe.\n" * 50)
    with pytest.raises(DataError, match="pairs.tsv is 0.0 MB; the limit for a sentence-pair file is 0 MB"):
        read_sentence_pairs(path, max_bytes=100)
    assert readers.MAX_BYTES == 500 * 2**20 and len(read_sentence_pairs(path).sources) == 50


# --- language codes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "code, expected",
    [
        ("en", Language("en", "English")),
        ("es", Language("es", "Spanish")),
        ("spa", Language("spa", "Spanish")),
        ("ES", Language("es", "Spanish")),
        ("fre", Language("fre", "French")),  # a bibliographic ISO 639-2 code
        ("pt-BR", Language("pt-BR", "Portuguese")),
        ("pt_br", Language("pt-BR", "Portuguese")),
        ("es-419", Language("es-419", "Spanish")),
        ("zh-hant-tw", Language("zh-Hant-TW", "Chinese")),
        (" de ", Language("de", "German")),
    ],
)
def test_known_language_codes(code, expected):
    assert check_language(code) == expected


@pytest.mark.parametrize("code", ["xx", "english", "e", "", "es1", None, 12])
def test_unknown_language_codes(code):
    with pytest.raises(DataError) as caught:
        check_language(code)
    assert str(caught.value) == f"unknown language code {code!r}; use an ISO 639-1 or 639-3 code such as en, es, de, fr"


@pytest.mark.parametrize("code, subtag", [("pt-XX", "XX"), ("es-latn1", "latn1"), ("en-", "")])
def test_unknown_subtags(code, subtag):
    with pytest.raises(DataError, match=rf"unknown subtag '{subtag}' in language code '{code}'; use a region such as pt-BR or es-419"):
        check_language(code)
