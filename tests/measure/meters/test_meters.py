"""Meters with fakes only at the vendor boundary: pynvml and pyRAPL functions, autospecced."""

from __future__ import annotations

import subprocess
import sys
import time
from unittest import mock

import pynvml
import pyRAPL
import pytest

from measure.meters import (
    CompositeMeter,
    EstimateMeter,
    MeterError,
    MeterUnavailable,
    NullMeter,
    NvmlMeter,
    RaplMeter,
    build_meter,
    parse_meter_spec,
    probe_all,
)
from measure.meters.rapl import PERMISSION_FIX, max_energy_ranges_uj
from measure.paths import PROJECT_ROOT


# -- NVML --------------------------------------------------------------------------------
class FakeGpus:
    """Behaves like the NVML C library behind pynvml: counters in mJ, power in mW."""

    def __init__(self, n=2, counter=True, power_mw=100_000.0, init_error=None):
        self.n, self.counter, self.power_mw, self.init_error = n, counter, power_mw, init_error
        self.energy_mj = [1_000_000.0 * (i + 1) for i in range(n)]
        self.step_mj = [5_000.0 * (i + 1) for i in range(n)]  # per counter read
        self.fail_reads = False

    def init(self):
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)

    def handle(self, index):
        if not 0 <= index < self.n:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return f"handle-{index}"

    def energy(self, handle):
        if not self.counter:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        if self.fail_reads:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        i = int(handle.split("-")[1])
        self.energy_mj[i] += self.step_mj[i]
        return int(self.energy_mj[i])

    def power(self, handle):
        return int(self.power_mw)


@pytest.fixture
def fake_nvml(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def install(gpus: FakeGpus):
        patches = {
            "nvmlInit": gpus.init,
            "nvmlShutdown": lambda: None,
            "nvmlDeviceGetCount": lambda: gpus.n,
            "nvmlDeviceGetHandleByIndex": gpus.handle,
            "nvmlDeviceGetName": lambda h: f"NVIDIA A100-SXM4-40GB ({h})",
            "nvmlDeviceGetTotalEnergyConsumption": gpus.energy,
            "nvmlDeviceGetPowerUsage": gpus.power,
        }
        mocks = {}
        for name, effect in patches.items():
            patcher = mock.patch.object(pynvml, name, autospec=True, side_effect=effect)
            mocks[name] = patcher.start()
        return mocks

    yield install
    mock.patch.stopall()


def test_nvml_counter_reads_millijoules_per_gpu(fake_nvml):
    gpus = FakeGpus(n=2)
    fake_nvml(gpus)
    meter = NvmlMeter()
    with meter.measure() as window:
        pass
    reading = window.reading
    assert reading.source == "nvml"
    assert reading.energy_j == {"gpu:0": 5.0, "gpu:1": 10.0}  # one counter step each, mJ -> J
    assert reading.gpu_energy_j == 15.0
    assert reading.gpu_energy_per_device_j == [5.0, 10.0]
    assert reading.cpu_energy_j is None
    assert meter.mode == {0: "energy counter", 1: "energy counter"}
    assert meter.min_window_s >= 0.5  # the counter updates every ~20-100 ms
    assert reading.flags == ["nvml_window_below_counter_period"]  # this window: ~0 s
    meter.close()


def test_nvml_window_of_the_counter_period_is_not_flagged(fake_nvml):
    fake_nvml(FakeGpus(n=1))
    meter = NvmlMeter()
    meter.min_window_s = 0.02
    with meter.measure() as window:
        time.sleep(0.03)
    assert window.reading.flags == [] and window.reading.gpu_energy_j == 5.0


def test_nvml_selected_and_visible_gpus(fake_nvml, monkeypatch):
    fake_nvml(FakeGpus(n=4))
    assert NvmlMeter([2]).gpu_indices == [2]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,3")
    meter = NvmlMeter()
    assert meter.gpu_indices == [1, 3]
    with meter.measure() as window:
        pass
    assert list(window.reading.energy_j) == ["gpu:1", "gpu:3"]
    with pytest.raises(MeterUnavailable, match=r"not among the 4 GPUs"):
        NvmlMeter([7])


@pytest.mark.parametrize(
    "error, text",
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "no NVIDIA driver"),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "driver is not loaded"),
    ],
)
def test_nvml_without_gpu_is_unavailable_with_fix(fake_nvml, error, text):
    fake_nvml(FakeGpus(init_error=error))
    with pytest.raises(MeterUnavailable, match=text) as info:
        NvmlMeter()
    assert info.value.fix
    status = NvmlMeter.probe()
    assert not status.available and text in status.detail


def test_nvml_with_zero_gpus_is_unavailable(fake_nvml):
    fake_nvml(FakeGpus(n=0))
    with pytest.raises(MeterUnavailable, match="sees no GPU"):
        NvmlMeter()


def test_auto_meter_falls_back_when_no_gpu(fake_nvml):
    fake_nvml(FakeGpus(init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND))
    meter = build_meter("auto", device="cuda")
    assert meter.source == "estimated"  # never claims a GPU measurement it cannot make
    kinds = {m.kind: type(m) for m in meter.meters}
    assert kinds["gpu"] is NullMeter and kinds["cpu"] is EstimateMeter
    with pytest.raises(MeterUnavailable):
        build_meter("nvml")


def test_nvml_unsupported_counter_falls_back_to_power_sampling(fake_nvml):
    gpus = FakeGpus(n=1, counter=False, power_mw=150_000.0)
    mocks = fake_nvml(gpus)
    meter = NvmlMeter(sample_interval_s=0.005)
    assert meter.mode == {0: "power sampling"}
    with meter.measure() as window:
        time.sleep(0.1)
    reading = window.reading
    assert reading.source == "nvml" and reading.flags == []
    assert reading.power_w["gpu:0"] == pytest.approx(150.0)
    # constant power: mean sampled power x the window (the samples overhang it a little)
    assert reading.gpu_energy_j == pytest.approx(150.0 * reading.duration_s, rel=1e-9)
    assert mocks["nvmlDeviceGetPowerUsage"].call_count >= 4  # start, thread samples, end
    assert meter._thread is None  # and was stopped
    meter.close()


def test_nvml_failure_mid_measurement_is_translated(fake_nvml):
    gpus = FakeGpus(n=1)
    fake_nvml(gpus)
    meter = NvmlMeter()
    meter.start()
    gpus.fail_reads = True
    with pytest.raises(MeterError, match="nvml: reading the GPUs failed"):
        meter.stop()


def test_composite_of_nvml_and_rapl(fake_nvml, fake_rapl):
    fake_nvml(FakeGpus(n=1))
    root = fake_rapl([[100_000.0, 50_000.0], [2_100_000.0, 1_050_000.0]])
    meter = CompositeMeter([RaplMeter(root), NvmlMeter()])
    assert meter.source == "nvml+rapl"
    with meter.measure() as window:
        pass
    reading = window.reading
    assert reading.gpu_energy_j == 5.0
    assert reading.cpu_energy_j == pytest.approx(2.0 + 1.0)  # package + DRAM


# -- RAPL --------------------------------------------------------------------------------
def powercap_tree(root, max_uj=262_143_328_850, dram=True):
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    if dram:
        sub = zone / "intel-rapl:0:0"
        sub.mkdir()
        (sub / "name").write_text("dram\n")
        (sub / "max_energy_range_uj").write_text("65712999613\n")
    return root


@pytest.fixture
def fake_rapl(tmp_path):
    """Patches pyRAPL.Sensor (autospec); returns a factory taking energy() readings in uJ."""

    def install(readings, error=None):
        root = powercap_tree(tmp_path / "powercap")
        patcher = mock.patch.object(pyRAPL, "Sensor", autospec=True)
        sensor_cls = patcher.start()
        if error is not None:
            sensor_cls.side_effect = error
        sensor_cls.return_value.energy.side_effect = [readings[0]] + list(readings)
        return root

    yield install
    mock.patch.stopall()


def test_rapl_reads_package_and_dram(fake_rapl):
    root = fake_rapl([[1_000_000.0, 500_000.0], [4_000_000.0, 1_500_000.0]])
    meter = RaplMeter(root)
    with meter.measure() as window:
        pass
    assert window.reading.source == "rapl"
    assert window.reading.energy_j == {"cpu:package-0": 3.0, "dram:0": 1.0}
    assert window.reading.cpu_energy_j == 4.0
    assert meter.describe()["domains"] == ["dram-0", "package-0"]


def test_rapl_corrects_counter_wrap_around(fake_rapl):
    max_uj = 262_143_328_850
    root = fake_rapl([[max_uj - 1_000_000.0, -1], [2_000_000.0, -1]])  # DRAM absent (-1)
    meter = RaplMeter(root)
    with meter.measure() as window:
        pass
    assert window.reading.energy_j == {"cpu:package-0": pytest.approx(3.0)}


def test_rapl_permission_denied_says_how_to_fix(fake_rapl):
    denied = PermissionError(
        13, "Permission denied", "/sys/class/powercap/intel-rapl/intel-rapl:0/energy_uj"
    )
    root = fake_rapl([[0, 0]], error=denied)
    with pytest.raises(MeterUnavailable, match="permission denied") as info:
        RaplMeter(root)
    assert info.value.fix == PERMISSION_FIX and "root" in info.value.fix
    assert "5.10" in str(info.value)
    status = RaplMeter.probe(root)
    assert not status.available and status.fix == PERMISSION_FIX


def test_rapl_missing_powercap_is_unavailable(tmp_path):
    with pytest.raises(MeterUnavailable, match="does not exist"):
        RaplMeter(tmp_path / "no-powercap")


def test_rapl_without_package_domain_is_unavailable(fake_rapl):
    root = fake_rapl([[0, 0]], error=pyRAPL.PyRAPLCantRecordEnergyConsumption(None))
    with pytest.raises(MeterUnavailable, match="no usable RAPL package domain"):
        RaplMeter(root)


def test_max_energy_ranges_from_powercap(tmp_path):
    root = powercap_tree(tmp_path / "pc")
    (root / "intel-rapl:0:0").mkdir()  # the top-level alias of a subzone is skipped
    assert max_energy_ranges_uj(root) == {(0, 0): 262_143_328_850.0, (0, 1): 65_712_999_613.0}


# -- estimate, null, selection ------------------------------------------------------------
def test_estimate_is_cpu_time_times_watts_and_labelled():
    meter = EstimateMeter(watts_per_core=20.0)
    t0 = time.process_time()
    with meter.measure() as window:
        deadline = time.perf_counter() + 0.05
        while time.perf_counter() < deadline:
            pass
    cpu_s = time.process_time() - t0
    assert window.reading.source == "estimated"
    assert 0 < window.reading.cpu_energy_j <= 20.0 * cpu_s
    assert window.reading.cpu_energy_j == pytest.approx(20.0 * cpu_s, rel=0.2)
    with meter.measure() as idle:
        time.sleep(0.05)
    assert idle.reading.cpu_energy_j < window.reading.cpu_energy_j / 5
    with pytest.raises(ValueError, match="positive"):
        EstimateMeter(0)


def test_null_meter_measures_nothing():
    meter = NullMeter("gpu", "no GPU here")
    with meter.measure() as window:
        pass
    assert window.reading.energy_j == {} and window.reading.gpu_energy_j is None
    assert meter.describe()["reason"] == "no GPU here"


def test_meter_misuse_and_spec_errors():
    meter = EstimateMeter()
    with pytest.raises(MeterError, match="before start"):
        meter.stop()
    meter.start()
    with pytest.raises(MeterError, match="twice"):
        meter.start()
    with pytest.raises(ValueError, match="unknown meter"):
        parse_meter_spec("nvml,joulescope")
    with pytest.raises(ValueError, match="both measure the CPU"):
        parse_meter_spec("rapl,estimate")
    assert parse_meter_spec("auto") is None


def test_probe_all_reports_every_meter():
    statuses = {s.name: s for s in probe_all()}
    assert set(statuses) == {"nvml", "rapl", "estimate"}
    assert statuses["estimate"].available
    for status in statuses.values():
        assert status.available or status.detail  # every unavailable meter says why


def test_vendor_imports_are_quiet_and_leave_logging_alone():
    """pyRAPL logs 'install pymongo' on import and would leave a root stderr handler."""
    code = (
        "import logging\n"
        "from measure.meters.base import vendor_module\n"
        "vendor_module('rapl', 'pyRAPL', 'pyRAPL')\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "assert logging.root.manager.disable == 0\n"
        "try:\n"
        "    vendor_module('x', 'no_such_vendor_module', 'no-such-package')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc.fix)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip() == "MeterUnavailable pip install no-such-package"
