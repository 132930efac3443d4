"""The store's tables, as DDL and column lists (documented in the README)."""

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,          -- 'import' or 'sweep'
    source        VARCHAR NOT NULL,          -- imported file path, or sweep description
    source_sha256 VARCHAR,                   -- content hash of an imported file or shard
    system        VARCHAR,
    host          VARCHAR,
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    ingested_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    n_measurements INTEGER,
    provenance    JSON                       -- versions, devices, seed, dtype, meters, idle power
);
CREATE TABLE IF NOT EXISTS measurements (
    run_id            VARCHAR NOT NULL,
    trial_key         VARCHAR NOT NULL,      -- unique within the run (source line, or cell/trial)
    model             VARCHAR NOT NULL,      -- the source's own name, never renamed
    system            VARCHAR NOT NULL,
    n_gpus            INTEGER,
    batch_size        INTEGER NOT NULL DEFAULT 1,   -- queries in the measured batch
    declared_batch_size INTEGER,             -- what the source file said, where it differs
    kv_cache          BOOLEAN,
    dtype             VARCHAR,
    input_tokens      INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,      -- requested output tokens (the limit)
    output_tokens_generated INTEGER,         -- generated, where known
    runtime_s         DOUBLE NOT NULL,
    gpu_energy_j      DOUBLE,                -- whole batch, summed over GPUs
    cpu_energy_j      DOUBLE,                -- whole batch, CPU packages (+ DRAM where known)
    gpu_energy_per_device_j DOUBLE[],        -- per GPU, where the source has it
    idle_power_w      DOUBLE,                -- idle power subtracted, where any was
    energy_source     VARCHAR NOT NULL,
    flags             VARCHAR[] NOT NULL DEFAULT [],
    source_file       VARCHAR,
    source_line       INTEGER,
    phase             VARCHAR,
    iteration         INTEGER,
    measured_at       TIMESTAMP,
    PRIMARY KEY (run_id, trial_key)
);
CREATE TABLE IF NOT EXISTS startup_phases (
    run_id        VARCHAR NOT NULL,
    trial_key     VARCHAR NOT NULL,
    model         VARCHAR NOT NULL,
    system        VARCHAR NOT NULL,
    phase         VARCHAR NOT NULL,          -- 'tokenizer', 'model load', 'warm-up', ...
    runtime_s     DOUBLE,
    gpu_energy_j  DOUBLE,
    cpu_energy_j  DOUBLE,
    energy_source VARCHAR NOT NULL,
    flags         VARCHAR[] NOT NULL DEFAULT [],
    source_file   VARCHAR,
    source_line   INTEGER,
    measured_at   TIMESTAMP,
    PRIMARY KEY (run_id, trial_key)
);
CREATE TABLE IF NOT EXISTS fits (
    data_version  VARCHAR NOT NULL,          -- Store.data_version() of the rows fitted
    settings      VARCHAR NOT NULL,          -- the fit settings, as the fitting side keys them
    document      VARCHAR NOT NULL,          -- the fits, a JSON document the store never reads
    fitted_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (data_version, settings)
);
"""

MEASUREMENT_COLUMNS = (
    "run_id",
    "trial_key",
    "model",
    "system",
    "n_gpus",
    "batch_size",
    "declared_batch_size",
    "kv_cache",
    "dtype",
    "input_tokens",
    "output_tokens",
    "output_tokens_generated",
    "runtime_s",
    "gpu_energy_j",
    "cpu_energy_j",
    "gpu_energy_per_device_j",
    "idle_power_w",
    "energy_source",
    "flags",
    "source_file",
    "source_line",
    "phase",
    "iteration",
    "measured_at",
)
STARTUP_COLUMNS = (
    "run_id",
    "trial_key",
    "model",
    "system",
    "phase",
    "runtime_s",
    "gpu_energy_j",
    "cpu_energy_j",
    "energy_source",
    "flags",
    "source_file",
    "source_line",
    "measured_at",
)
RUN_COLUMNS = (
    "run_id",
    "kind",
    "source",
    "source_sha256",
    "system",
    "host",
    "started_at",
    "finished_at",
    "n_measurements",
    "provenance",
)
FIT_COLUMNS = ("data_version", "settings", "document", "fitted_at")
