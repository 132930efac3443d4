"""Measurement sweeps over token grids: configuration, the runner, crash-safe shards, CLI."""
