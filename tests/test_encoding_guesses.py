"""Found by a new user: `datasets add f.csv --encoding idna` was "this is a bug
(UnicodeError)", and a Shift-JIS CSV was told "It looks like Windows-1252 ... choose the
encoding cp1252", which then registered mojibake. A codec that cannot read a file's text
is refused like rot13; the hint names cp1252 only when cp1252 is the plausible reading, and
otherwise lists the encodings that decode the bytes, with what each reads.

Real files, real workspaces; genuine cp1252 and latin-1 files keep their advice
(tests/test_exact_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace


def _csv(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("codec", ["idna", "punycode", "undefined", "IDNA"])
def test_a_codec_that_cannot_read_a_files_text_is_refused(
    ws: Workspace, tmp_path: Path, codec: str
) -> None:
    path = _csv(tmp_path, "f.csv", "name,city\nJosé,München\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="is not an encoding for a file's text"):
        datasets.register(ws, path, "people", encoding=codec)
    assert datasets.list_datasets(ws) == []


@pytest.mark.parametrize("name", ["utf-8\x00", "utf\udcff", "x" * 5000])
def test_an_encoding_name_python_cannot_look_up_is_unknown(
    ws: Workspace, tmp_path: Path, name: str
) -> None:
    path = _csv(tmp_path, "f.csv", "name,city\nJosé,München\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="Unknown encoding") as exc:
        datasets.register(ws, path, "people", encoding=name)
    assert len(str(exc.value)) < 300


def test_a_codec_that_makes_a_lone_surrogate_names_the_line(ws: Workspace, tmp_path: Path) -> None:
    """utf-7 reads the five characters +2AA- as a lone surrogate."""
    path = _csv(tmp_path, "u7.csv", b"a,b\n1,x\n2,+2AA-\n")
    with pytest.raises(InvalidInput, match=r"read as utf-7 \(line 3\).*lone surrogate"):
        datasets.register(ws, path, "u7", encoding="utf-7")
    assert datasets.list_datasets(ws) == []


@pytest.mark.parametrize("codec", ["unicode_escape", "raw_unicode_escape", "Unicode-Escape"])
def test_escape_codecs_are_refused(ws: Workspace, tmp_path: Path, codec: str) -> None:
    """They read backslash escapes in the data: "D:\\x41\\t" was stored as "D:A<TAB>"."""
    path = _csv(tmp_path, "esc.csv", b"path,n\nD:\\x41\\t,1\nC:\\u0041,2\n")
    with pytest.raises(InvalidInput, match="is not an encoding for a file's text") as exc:
        datasets.register(ws, path, "esc", encoding=codec)
    assert repr(codec) in str(exc.value) and "backslash escapes" in str(exc.value)
    assert datasets.list_datasets(ws) == []


@pytest.mark.parametrize(
    "text",
    [
        "имя,v\nМосква,1\n",
        "город,население\nМосква,13010112\nСанкт-Петербург,5601911\n",
    ],
)
def test_koi8_r_is_offered_and_no_double_byte_encoding_that_does_not_decode_it(
    ws: Workspace, tmp_path: Path, text: str
) -> None:
    """euc-jp, euc-kr, big5 and gb18030 were listed as decoding this file, with '浜�'
    (a replacement character) as euc-jp's reading; KOI8-R was never offered."""
    path = _csv(tmp_path, "koi8.csv", text.encode("koi8_r"))
    with pytest.raises(InvalidInput) as exc:
        datasets.register(ws, path, "k")
    message = str(exc.value)
    assert "encoding is not clear" in message and "Windows-1252" not in message, message
    assert f"koi8_r reads {text.splitlines()[0]!r}" in message, message
    for codec in ("shift_jis", "euc-jp", "euc-kr", "big5", "gb18030"):
        assert f"{codec} reads" not in message and f"{codec}," not in message, message
    assert "\ufffd" not in message, message
    datasets.register(ws, path, "k", encoding="koi8_r")
    assert wb.load_dataset("k").columns.tolist() == text.splitlines()[0].split(",")


def test_cp1251_is_offered_for_a_windows_cyrillic_file(ws: Workspace, tmp_path: Path) -> None:
    text = "имя,город\nИван,«Москва» — столица\n"
    path = _csv(tmp_path, "w1251.csv", text.encode("cp1251"))
    with pytest.raises(InvalidInput) as exc:
        datasets.register(ws, path, "c")
    message = str(exc.value)
    assert "encoding is not clear" in message and "Windows-1252" not in message, message
    assert "cp1251 reads 'имя,город'" in message, message
    assert "\ufffd" not in message, message


def test_a_file_that_no_candidate_reads_strictly_gets_no_candidates(
    ws: Workspace, tmp_path: Path
) -> None:
    """A double-byte lead byte at the very end of a whole file is not a cut character."""
    path = _csv(tmp_path, "cut.csv", b"a,b\n1,\x81")
    with pytest.raises(InvalidInput) as exc:
        datasets.register(ws, path, "cut")
    message = str(exc.value)
    for codec in ("shift_jis", "euc-jp", "euc-kr", "big5", "gb18030", "koi8_r", "cp1251"):
        assert f"{codec} reads" not in message and f"only {codec}" not in message, message


def test_shift_jis_is_not_called_windows_1252(ws: Workspace, tmp_path: Path) -> None:
    path = _csv(tmp_path, "sj.csv", "name,city\n山田,東京\n".encode("shift_jis"))
    with pytest.raises(InvalidInput) as exc:
        datasets.register(ws, path, "sj")
    text = str(exc.value)
    assert "koi8_r reads" not in text and "cp1251 reads" not in text, text
    assert "Windows-1252" not in text and "--encoding cp1252" not in text, text
    assert "encoding is not clear" in text and "--encoding NAME" in text, text
    assert "shift_jis reads '山田,東京'" in text, text
    assert "cp1252 reads 'ŽR“c,“Œ‹ž'" in text, text  # what following the old advice gave
    datasets.register(ws, path, "sj", encoding="shift_jis")
    assert wb.load_dataset("sj").iloc[0].tolist() == ["山田", "東京"]


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        ("shift_jis", "名前,都市\n山田太郎,東京都\n佐藤花子,大阪府\n"),
        ("euc-jp", "名前,都市\n山田太郎,東京都\n"),
        ("gbk", "姓名,城市\n张三,北京\n李四,上海\n"),
        ("euc-kr", "이름,도시\n김철수,서울\n"),
        ("big5", "姓名,城市\n張三,臺北\n"),
    ],
)
def test_east_asian_files_get_the_encodings_that_read_them(
    ws: Workspace, tmp_path: Path, codec: str, text: str
) -> None:
    """No guess claims cp1252, none says the file mixes encodings (EUC-JP's first bytes
    are a valid UTF-8 character by chance), and the list holds the real encoding."""
    path = _csv(tmp_path, "t.csv", text.encode(codec))
    with pytest.raises(InvalidInput) as exc:
        datasets.register(ws, path, "t")
    message = str(exc.value)
    assert "Windows-1252" not in message and "mixes encodings" not in message, message
    real = "gb18030" if codec == "gbk" else codec  # GB18030 is GBK's superset
    first_line = text.splitlines()[0]
    assert f"{real} reads {first_line!r}" in message, message


@pytest.mark.parametrize(
    "text",
    [
        "name,price\nCafé,5 €\n",
        "note,p\n“great”,€5\n",
        "name,note\nMüller,„Größe“ – groß\nGödel,Straße\n",
        "nom,note\nÉlève,«très bien» — œuvre\nZoë,naïve\n",
    ],
)
def test_windows_1252_is_still_named(ws: Workspace, tmp_path: Path, text: str) -> None:
    path = _csv(tmp_path, "w.csv", text.encode("cp1252"))
    with pytest.raises(InvalidInput, match=r"looks like Windows-1252.*--encoding cp1252"):
        datasets.register(ws, path, "w")
    datasets.register(ws, path, "w", encoding="cp1252")
    assert wb.load_dataset("w").columns.tolist() == text.splitlines()[0].split(",")
