import json

import pytest
import torch

from smfuse.runtime import precision
from smfuse.data.sets import load_dataset
from smfuse.runtime.precision import cpu_has_native_bf16, resolve_precision
from smfuse.runtime.train import get_config, train, training_step

# the flags lines of two real CPUs (shortened): an AVX2-only AMD EPYC, and a Sapphire Rapids Xeon
AVX2 = ("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme sse sse2 avx f16c avx2 bmi2 vaes vpclmulqdq rdpid "
        "fsrm\n\nprocessor\t: 1\nflags\t\t: fpu sse avx avx2\n")
AMX = "model name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: avx2 avx512f avx512bw avx512_bf16 amx_bf16 amx_tile\n"
TINY = dict(steps=4, batch_size=4, patch_size=32, eval_every=0, checkpoint_every=2, log_every=2)


@pytest.fixture(scope="module")
def pairs():
    return load_dataset("synthetic", limit=2)


@pytest.fixture
def native(monkeypatch):
    """Pretend the CPU does (True) or does not (False) compute bfloat16 natively."""
    def set_native(value: bool):
        monkeypatch.setattr(precision, "_cpu_native_bf16", lambda: value)
    return set_native


def test_native_bf16_is_read_off_the_cpu_flags():
    assert not cpu_has_native_bf16(AVX2)
    assert cpu_has_native_bf16(AMX)
    assert cpu_has_native_bf16("flags : avx2 avx512_bf16\n")  # AVX512-BF16 without AMX (e.g. AMD Zen 4)
    assert not cpu_has_native_bf16("model name : amx_bf16 in a name is not a flag\n")
    assert not cpu_has_native_bf16("")  # unreadable, or not Linux: never the slow path


def test_auto_is_bf16_only_where_native(native):
    native(True)
    assert resolve_precision("auto") == "bf16"
    native(False)
    assert resolve_precision("auto") == "fp32"
    assert (resolve_precision("bf16"), resolve_precision("fp32")) == ("bf16", "fp32")  # explicit values stand
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        resolve_precision("fp16")


def test_the_fast_configuration_asks_for_auto_and_the_study_pins_bf16():
    from smfuse.reproduce.study import STUDY_BASE, arm_config

    assert get_config("fast").precision == "auto"
    assert STUDY_BASE.precision == "bf16" and arm_config("d", 0).precision == "bf16"  # the committed runs' arithmetic
    with pytest.raises(ValueError, match="precision must be one of"):
        get_config("fast", precision="fp16")


def test_a_run_saves_the_precision_it_resolved_to(tmp_path, pairs, native):
    native(False)
    cfg = get_config("quick", precision="auto", **TINY)
    train(cfg, tmp_path / "avx2", pairs=pairs, progress=False)
    assert json.loads((tmp_path / "avx2" / "config.json").read_text())["precision"] == "fp32"
    # the same run stopped and resumed with "auto" on the same machine continues
    train(cfg.replace(stop_at=2), tmp_path / "r", pairs=pairs, progress=False)
    train(cfg, tmp_path / "r", pairs=pairs, resume=True, progress=False)
    # resumed where "auto" now means bf16, the arithmetic would change: refused, naming the field
    train(cfg.replace(stop_at=2), tmp_path / "r2", pairs=pairs, progress=False)
    native(True)
    with pytest.raises(ValueError, match="precision='fp32' \\(now 'bf16'\\)"):
        train(cfg, tmp_path / "r2", pairs=pairs, resume=True, progress=False)
    train(cfg.replace(precision="fp32"), tmp_path / "r2", pairs=pairs, resume=True, progress=False)


def test_bf16_where_it_is_emulated_warns(tmp_path, pairs, native):
    native(False)
    with pytest.warns(RuntimeWarning, match="without native bfloat16"):
        train(get_config("quick", precision="bf16", **TINY), tmp_path / "bf16", pairs=pairs, progress=False)
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["precision"] == "bf16"


def test_training_step_autocasts_as_auto_resolves(native, monkeypatch):
    """``training_step`` on a config still saying "auto" computes in what it resolves to."""
    from smfuse.method.network import MaskGenerator

    seen = []
    real = torch.autocast

    def spy(device_type, dtype=None, enabled=True, **kw):
        seen.append(enabled)
        return real(device_type, dtype=dtype, enabled=enabled, **kw)

    monkeypatch.setattr(torch, "autocast", spy)
    net = MaskGenerator(generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(net.parameters())
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.rand(2, 1, 16, 16, generator=g) * 2 - 1, torch.rand(2, 1, 16, 16, generator=g) * 2 - 1
    mi = (torch.rand(2, 1, 16, 16, generator=g) > 0.5).float()
    for value in (False, True):
        native(value)
        training_step(net, opt, get_config("fast"), x1, x2, mi)
    assert seen == [False, True]
