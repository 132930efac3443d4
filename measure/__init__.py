"""Measurement: meters, sweeps, importers and the DuckDB store they all write to.

``meters`` read energy counters (NVML, RAPL, an estimate); ``sweep`` runs measurement
sweeps into crash-safe shards; ``importers`` read published files; ``store`` owns the
DuckDB file and every SQL statement; ``llm`` loads an LLM and generates exact token
counts; ``flags`` holds the plausibility rules every measured row is checked against;
``provenance`` records the machine a sweep ran on; ``paths`` says where the project's
files live.  ``python -m measure`` is the command line (``cli`` dispatches its subcommands).
"""
