"""`python -m planner report`: the dashboard's HTML report from the command line, and its
errors in one line naming the file or setting."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from planner.__main__ import main
from tests.planner.report.catalogue_plans import code_trace_tokens


@pytest.fixture
def trace_csv(tmp_path):
    """A code trace in the Azure trace's columns: long prompts (~1,500), short outputs (~13)."""
    tin, tout = code_trace_tokens(300, seed=5)
    path = tmp_path / "code-trace.csv"
    pd.DataFrame({"ContextTokens": tin, "GeneratedTokens": tout}).to_csv(path, index=False)
    return path


@pytest.fixture
def euro_fleet(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(
        '[facility]\npue = 1.2\ncarbon_g_per_kwh = 300\nprice_per_kwh = 0.25\ncurrency = "EUR"\n'
    )
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _visible(page: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def test_report_writes_the_self_contained_page(capsys, tmp_path, trace_csv, euro_fleet):
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    argv = ["report", "--db", str(tmp_path / "empty.duckdb"), "--workload", str(trace_csv)]
    code, stdout, err = _run(
        capsys, *argv, "--fleet", str(euro_fleet), "--points", "3", "--out", str(out)
    )
    assert code == 0, err
    assert f"wrote {out}" in stdout
    page = out.read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot") == 5  # workload, allocation, comparison, frontier, zeta
    text = _visible(page)
    assert "Recommendation: serve the 300 queries of code-trace with" in text
    assert "most accurate LLM on fastest system" in text.split("Caveats")[0]
    assert "physical floor" in text and "extrapolated" in text
    assert "Cost (EUR)" in text and "USD" not in text
    assert str(tmp_path) not in page  # store and workload by file name alone
    assert "store empty.duckdb" in text and "file code-trace.csv" in text
    for word in ("False", "True", "None", "nan"):
        assert not re.search(rf"\b{word}\b", text), word
    assert not re.search(r"(?<![\w.])[-−]\s?\d", text)  # no negative figure
    assert list(tmp_path.glob("out/.report.html.*")) == []  # no temporary file left


def test_report_with_an_accuracy_floor_and_another_baseline(capsys, tmp_path, trace_csv):
    out = tmp_path / "floor.html"
    argv = ["report", "--db", str(tmp_path / "e.duckdb"), "--workload", str(trace_csv)]
    argv += ["--min-accuracy", "60", "--baseline", "round_robin", "--points", "0"]
    code, _, err = _run(capsys, *argv, "--out", str(out))
    assert code == 0, err
    text = _visible(out.read_text(encoding="utf-8"))
    assert "optimal (energy, accuracy >= 60 %)" in text
    assert "the baseline “round robin”" in text
    assert "Energy / accuracy frontier" not in text  # --points 0: no frontier


def _one_line_error(capsys, argv, code, message):
    got, _, err = _run(capsys, *argv)
    assert got == code, err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_bad_workload_is_refused_naming_the_file(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("input_tokens,output_tokens\n12,x\n")
    out = tmp_path / "report.html"
    argv = ["report", "--db", str(tmp_path / "e.duckdb"), "--workload", str(bad)]
    _one_line_error(capsys, argv + ["--out", str(out)], 2, f"{bad}: ")
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, code, message",
    [
        (["--baseline", "nonesuch"], 2, "--baseline: no baseline 'nonesuch'"),
        (["--points", "1"], 2, "--points must be from 2 to 101 (got 1)"),
        (["--fleet", "{tmp}/absent.toml"], 2, "absent.toml: cannot read"),
        (["--zeta", "3"], 1, "zeta must be in [0, 1]"),
    ],
)
def test_bad_settings_are_one_line_naming_them(capsys, tmp_path, trace_csv, extra, code, message):
    out = tmp_path / "report.html"
    argv = ["report", "--db", str(tmp_path / "e.duckdb"), "--workload", str(trace_csv)]
    fast = [] if "--points" in extra else ["--points", "0"]  # no frontier to solve
    argv += [a.format(tmp=tmp_path) for a in extra] + fast + ["--out", str(out)]
    _one_line_error(capsys, argv, code, message)
    assert not out.exists()


def test_an_unwritable_output_is_one_line_and_leaves_nothing(capsys, tmp_path, trace_csv):
    out = tmp_path / "missing-folder" / "report.html"
    argv = ["report", "--db", str(tmp_path / "e.duckdb"), "--workload", str(trace_csv)]
    _one_line_error(
        capsys,
        argv + ["--points", "0", "--out", str(out)],
        2,
        f"cannot write {out}: no such file or directory",
    )
    assert not out.parent.exists()


def test_zeta_and_an_accuracy_floor_exclude_each_other(capsys, tmp_path, trace_csv):
    argv = ["report", "--db", str(tmp_path / "e.duckdb"), "--workload", str(trace_csv)]
    with pytest.raises(SystemExit) as done:
        main(argv + ["--zeta", "0.2", "--min-accuracy", "50", "--out", str(tmp_path / "r.html")])
    assert done.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
