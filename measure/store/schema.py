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
CREATE TABLE IF NOT EXISTS serving (
    run_id            VARCHAR NOT NULL,
    row_key           VARCHAR NOT NULL,      -- unique within the run (file position, or level)
    model             VARCHAR NOT NULL,      -- the source's own name, never renamed
    system            VARCHAR NOT NULL,      -- GPU kind as the source says ('H100', 'B200')
    n_gpus            INTEGER NOT NULL,      -- GPUs of one serving instance
    tensor_parallel   INTEGER,
    expert_parallel   INTEGER,
    data_parallel     INTEGER,
    weight_precision  VARCHAR,
    engine            VARCHAR,               -- 'vllm', 'transformers serve', ... where known
    task              VARCHAR,               -- the prompt mix ('lm-arena-chat', 'gpqa', ...)
    max_num_seqs      INTEGER,               -- the engine's batch limit, where set
    concurrency       INTEGER,               -- requests the client kept in flight, where fixed
    request_rate      DOUBLE,                -- Poisson arrival rate (req/s), where used
    mean_batch        DOUBLE NOT NULL,       -- mean requests in the running batch
    n_requests        INTEGER,               -- requests completed in the window
    mean_input_tokens DOUBLE,                -- NULL where the source has no input lengths
    mean_output_tokens DOUBLE,
    window_s          DOUBLE,                -- steady window measured (s)
    energy_j          DOUBLE,                -- energy over the window, whole instance
    energy_per_output_token_j DOUBLE NOT NULL, -- prefill folded in where no input lengths
    energy_per_request_j DOUBLE,
    mean_power_w      DOUBLE,                -- mean power of the instance over the window
    idle_power_w      DOUBLE,                -- idle power of the instance, where measured
    output_throughput_tps DOUBLE NOT NULL,   -- output tokens per second of the instance
    request_throughput_rps DOUBLE,
    itl_ms_p50        DOUBLE,
    itl_ms_p90        DOUBLE,
    itl_ms_p95        DOUBLE,
    itl_ms_p99        DOUBLE,
    ttft_ms_p50       DOUBLE,                -- NULL where the source has none
    ttft_ms_p90       DOUBLE,
    ttft_ms_p99       DOUBLE,
    e2e_ms_p50        DOUBLE,
    e2e_ms_p90        DOUBLE,
    energy_source     VARCHAR NOT NULL,      -- 'imported', 'nvml', 'rapl', 'estimated', ...
    energy_scope      VARCHAR NOT NULL,      -- what the energy covers: 'gpu', 'cpu', 'gpu+cpu'
    flags             VARCHAR[] NOT NULL DEFAULT [],
    source_file       VARCHAR,
    source_position   VARCHAR,               -- where in the file ('configurations[12]')
    measured_at       TIMESTAMP,
    PRIMARY KEY (run_id, row_key)
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
SERVING_COLUMNS = (
    "run_id",
    "row_key",
    "model",
    "system",
    "n_gpus",
    "tensor_parallel",
    "expert_parallel",
    "data_parallel",
    "weight_precision",
    "engine",
    "task",
    "max_num_seqs",
    "concurrency",
    "request_rate",
    "mean_batch",
    "n_requests",
    "mean_input_tokens",
    "mean_output_tokens",
    "window_s",
    "energy_j",
    "energy_per_output_token_j",
    "energy_per_request_j",
    "mean_power_w",
    "idle_power_w",
    "output_throughput_tps",
    "request_throughput_rps",
    "itl_ms_p50",
    "itl_ms_p90",
    "itl_ms_p95",
    "itl_ms_p99",
    "ttft_ms_p50",
    "ttft_ms_p90",
    "ttft_ms_p99",
    "e2e_ms_p50",
    "e2e_ms_p90",
    "energy_source",
    "energy_scope",
    "flags",
    "source_file",
    "source_position",
    "measured_at",
)
# The serving table's columns a row must have (the others may be NULL).
SERVING_REQUIRED = (
    "model",
    "system",
    "n_gpus",
    "mean_batch",
    "energy_per_output_token_j",
    "output_throughput_tps",
    "energy_source",
    "energy_scope",
)
FIT_COLUMNS = ("data_version", "settings", "document", "fitted_at")
