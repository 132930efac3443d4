"""`measure serve`: an OpenAI-compatible server metered under load.

``client`` streams completions over HTTP and parses server-sent events; ``loadgen`` makes
prompts of exact token lengths and sends them at fixed concurrency or Poisson rates;
``energy`` picks meters that see the server; ``runner`` measures levels (warm-up, steady
window, drain) into crash-safe ``shards`` and the store's ``serving`` table; ``cli`` is
``python -m measure serve``.

The names below load on first use (``python -m measure`` imports ``measure.serve.cli`` for
every subcommand).
"""

from importlib import import_module

_PUBLIC = {
    "Endpoint": "measure.serve.client",
    "RequestResult": "measure.serve.client",
    "ServeError": "measure.serve.client",
    "stream_completion": "measure.serve.client",
    "LoadError": "measure.serve.loadgen",
    "PromptMaker": "measure.serve.loadgen",
    "read_workload": "measure.serve.loadgen",
    "LevelFailed": "measure.serve.runner",
    "ServeConfig": "measure.serve.runner",
    "ServeConfigError": "measure.serve.runner",
    "ServeResult": "measure.serve.runner",
    "run_serve": "measure.serve.runner",
    "ingest_serve_shard": "measure.serve.shards",
    "is_serve_shard": "measure.serve.shards",
    "read_serve_shard": "measure.serve.shards",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
