"""Energy of a measured batch from the store's GPU and CPU columns (pandas only)."""

import pandas as pd


def total_energy_j(gpu: pd.Series, cpu: pd.Series) -> pd.Series:
    """GPU + CPU energy counting whichever is present: NULL is absent, not 0, and a row
    with neither has no figure (NaN).  The one rule for "total" energy, used by fitting
    and by every view of the measurements."""
    gpu = pd.to_numeric(gpu, errors="coerce")
    cpu = pd.to_numeric(cpu, errors="coerce")
    return (gpu.fillna(0.0) + cpu.fillna(0.0)).where(gpu.notna() | cpu.notna())
