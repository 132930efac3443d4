"""Importers of published measurement files into the store (each file whole or not at all):
the paper's CSVs into ``measurements`` (:mod:`measure.importers.paper`), ML.ENERGY
Leaderboard v3 JSON into ``serving`` (:mod:`measure.importers.mlenergy`)."""

from measure.importers.mlenergy import (
    CITATION as MLENERGY_CITATION,
)
from measure.importers.mlenergy import (
    ServingImportSummary,
    import_mlenergy_file,
    is_json,
    parse_mlenergy,
)
from measure.importers.paper import ImportSummary, ParsedFile, import_file, parse_file
from measure.importers.paper_format import MalformedFileError

__all__ = [
    "ImportSummary",
    "MLENERGY_CITATION",
    "MalformedFileError",
    "ParsedFile",
    "ServingImportSummary",
    "import_file",
    "import_mlenergy_file",
    "is_json",
    "parse_file",
    "parse_mlenergy",
]
