"""Chunked import: the hash answers "already imported" before any parsing; a file of many chunks
lands whole, or (a bad row in a late chunk) not at all; start-up rows of a re-exported copy
are flagged like its measurements."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from measure.__main__ import main
from measure.importers import MalformedFileError, import_file, paper
from measure.store import Store

HEADER = (
    "Phase,Runtime (s),CPU Energy (J),GPU Energy (J),Number of Output Tokens,"
    "Number of Input Tokens,Model,System"
)


def _rows(n: int) -> list[str]:
    rows = []
    for i in range(n):
        phase = "tokenizer" if i % 5 == 0 else f"inference-{i}"
        rows.append(f"{phase},{1 + i / 100:.2f},{10 + i},{100 + i},{8 + i % 3},{16 + i},m,s")
    return rows


def _write(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _snapshot(store: Store):
    return (store.runs(), store.measurements(), store.startup_phases())


def test_many_chunks_land_whole_and_in_order(tmp_path, store_path, monkeypatch):
    monkeypatch.setattr(paper, "CHUNK_ROWS", 3)
    path = _write(tmp_path, "many.csv", _rows(20))
    summary = import_file(path, Store(store_path))
    assert (summary.n_measurements, summary.n_startup, summary.n_added) == (16, 4, 16)
    stored = Store(store_path).measurements().sort_values("source_line")
    assert list(stored["source_line"]) == [n for n in range(2, 22) if (n - 2) % 5]
    assert list(stored["input_tokens"]) == [16 + n - 2 for n in stored["source_line"]]
    assert not list(tmp_path.glob(".staging-*"))  # the staging file is gone


def test_bad_row_in_a_late_chunk_leaves_store_unchanged(tmp_path, store_path, monkeypatch):
    monkeypatch.setattr(paper, "CHUNK_ROWS", 3)
    store = Store(store_path)
    import_file(_write(tmp_path, "first.csv", _rows(4)), store)
    before = _snapshot(store)
    rows = _rows(20)
    rows[17] = rows[17].replace(",m,s", ",m,s,extra")  # line 19, in the sixth chunk
    bad = _write(tmp_path, "late-bad.csv", rows)
    with pytest.raises(MalformedFileError) as info:
        import_file(bad, store)
    assert (info.value.file, info.value.line) == (str(bad), 19)
    for old, new in zip(before, _snapshot(store)):
        pd.testing.assert_frame_equal(old, new)
    assert not list(tmp_path.glob(".staging-*"))


def test_same_bytes_are_answered_from_the_hash_without_parsing(tmp_path, store_path, monkeypatch):
    path = _write(tmp_path, "once.csv", _rows(6))
    store = Store(store_path)
    first = import_file(path, store)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(paper._Reader, "chunks", no_parsing)
    again = import_file(path, store)
    assert again.already_present and again.n_added == 0
    assert (again.run_id, again.n_measurements, again.n_startup) == (
        first.run_id,
        first.n_measurements,
        first.n_startup,
    )
    assert again.models == ["m"] and again.systems == ["s"]
    assert len(store.runs()) == 1


def test_reexported_startup_rows_are_flagged_like_measurements(tmp_path, store_path, capsys):
    original = _write(tmp_path, "original.csv", _rows(10))
    copy = _write(tmp_path, "copy.csv", _rows(10) + ["inference-new,9.5,20,200,8,64,m,s"])
    assert main(["import", str(original), "--db", str(store_path)]) == 0
    capsys.readouterr()
    assert main(["import", str(copy), "--db", str(store_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["imported"][0]
    assert summary["flag_counts"] == {"duplicate_of_stored": 8}
    assert summary["startup_flag_counts"] == {"duplicate_of_stored": 2}
    startup = Store(store_path).startup_phases()
    mine = startup[startup["source_file"] == str(copy)]
    assert len(mine) == 2 and all(list(f) == ["duplicate_of_stored"] for f in mine["flags"])
    theirs = startup[startup["source_file"] == str(original)]
    assert all(len(f) == 0 for f in theirs["flags"])
    fit_rows = Store(store_path).measurements(include_flagged=False)
    assert len(fit_rows) == 9  # 8 originals and the new row, each counted once
