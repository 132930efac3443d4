"""Importers of published measurement files into the store (each file whole or not at all)."""

from measure.importers.paper import ImportSummary, ParsedFile, import_file, parse_file
from measure.importers.paper_format import MalformedFileError

__all__ = ["ImportSummary", "MalformedFileError", "ParsedFile", "import_file", "parse_file"]
