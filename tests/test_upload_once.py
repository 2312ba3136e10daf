"""An upload is parsed once per content, not on every rerun of the data page (issue 10,
point 7): Streamlit reruns the page on every click, and a large workbook read again each
time held a core for seconds.

The page is a script (importing it runs it), so the test takes the page's own upload
functions from its source and runs them as the page does, with a counting reader."""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import streamlit as st

from burnout import ingest

PAGE = Path(__file__).resolve().parents[1] / "burnout" / "ui" / "data_admin.py"


def _page_functions(names):
    tree = ast.parse(PAGE.read_text())
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    assert {d.name for d in defs} == set(names)
    ns = {"st": st, "hashlib": hashlib, "ingest": ingest}
    exec(compile(ast.Module(defs, type_ignores=[]), str(PAGE), "exec"), ns)
    return ns


def test_an_upload_is_parsed_once_per_content(monkeypatch):
    calls = []
    real = ingest.read_table

    def counting(raw, name, **kw):
        calls.append(hashlib.sha256(raw).hexdigest())
        return real(raw, name, **kw)

    monkeypatch.setattr(ingest, "read_table", counting)
    ns = _page_functions(["_read_table", "read_upload"])
    ns["_read_table"].clear()
    raw = b"helper_id,name,team\nH1,Ann,A\nH2,Bo,A\n"
    first = ns["read_upload"](raw, "roster.csv")
    for _ in range(5):               # five reruns of the page with the same upload
        again = ns["read_upload"](raw, "roster.csv")
    assert len(calls) == 1
    assert list(again.columns) == list(first.columns) and len(again) == len(first) == 2
    # new content is read (once)
    ns["read_upload"](raw + b"H3,Cy,B\n", "roster.csv")
    ns["read_upload"](raw + b"H3,Cy,B\n", "roster.csv")
    assert len(calls) == 2
