"""Training-run accounting: Meta's Llama 3.1 card reproduced, formula checks, bad input."""

import json
import math

import pytest

from siting import SitingError, footprint
from siting.assumptions import assumptions_table, default_assumptions
from siting.cli import main


def assumption(key):
    return default_assumptions()[key]


# Meta, Llama 3.1 model card: GPU-hours (H100-80GB, 700 W) and location-based tCO2e.
CARD = {"8B": (1.46e6, 420), "70B": (7.0e6, 2040), "405B": (30.84e6, 8930), "total": (39.3e6, 11390)}
# The card applies no PUE; its implied grid intensity is 11,390 t / (39.3M h x 0.7 kW).
CARD_CI = 11390 / (39.3e6 * 0.7 / 1000) * 1000  # g/kWh, ~414


@pytest.mark.parametrize("run", list(CARD))
def test_llama31_card_within_one_percent(run):
    hours, tonnes = CARD[run]
    fp = footprint(hours, gpu="H100-80GB", pue=1.0, ci_g_per_kwh=CARD_CI)
    assert fp.gpu_power_w == 700
    assert fp.emissions_t == pytest.approx(tonnes, rel=0.01)


def test_cli_json_405b():
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["footprint", "--gpu-hours", "30.84e6", "--gpu", "H100-SXM", "--pue", "1.0",
                   "--ci-g-per-kwh", "414", "--json"])
    assert rc == 0
    payload = json.loads(buf.getvalue())
    for key in ("energy_mwh", "emissions_t", "ci_g_per_kwh", "gpu_power_w", "pue",
                "overhead_share"):
        assert key in payload
    assert payload["energy_mwh"] == pytest.approx(21588.0)
    assert payload["emissions_t"] == pytest.approx(8930, rel=0.01)


def test_formula_with_pue_and_overhead():
    fp = footprint(1000, gpu_power_w=500, pue=1.5, overhead_share=0.2, ci_g_per_kwh=100)
    # 1000 h x 0.5 kW x 1.5 x 1.2 = 900 kWh = 0.9 MWh; x 100 g/kWh = 90 kg = 0.09 t
    assert fp.energy_mwh == pytest.approx(0.9)
    assert fp.emissions_t == pytest.approx(0.09)


def test_market_based_kept_apart():
    fp = footprint(1e6, gpu_power_w=1000, pue=1.0, ci_g_per_kwh=400, covered_share=0.75,
                   covered_ci_g_per_kwh=24)
    assert fp.emissions_t == pytest.approx(1000 * 400 / 1000)
    assert fp.market_emissions_t == pytest.approx(750 * 24 / 1000 + 250 * 400 / 1000)


def test_owid_lookups():
    assert footprint(1, gpu="H100", region="NOR", year=2024).ci_g_per_kwh == pytest.approx(30.7,
                                                                                           abs=0.1)
    pol = footprint(1, gpu="H100", region="POL")
    assert pol.year == 2024
    assert pol.ci_g_per_kwh == pytest.approx(615.0, abs=0.1)


def test_defaults_come_from_assumptions():
    fp = footprint(1, gpu="H100", ci_g_per_kwh=1)
    assert fp.pue == assumption("pue_default")
    assert fp.overhead_share == assumption("overhead_share_default")


def test_assumptions_table_is_complete():
    table = assumptions_table()
    assert table["source"].str.len().min() > 0
    assert table["unit"].str.len().min() > 0
    ipcc = {"hydro": 24, "wind": 11, "geothermal": 38, "solar": 48, "nuclear": 12, "gas": 490,
            "coal": 820}
    for fuel, value in ipcc.items():
        assert assumption(f"lifecycle_{fuel}_g_per_kwh") == value


@pytest.mark.parametrize("kwargs, message", [
    ({"gpu_hours": -5, "gpu": "H100", "ci_g_per_kwh": 1}, "gpu_hours"),
    ({"gpu_hours": "lots", "gpu": "H100", "ci_g_per_kwh": 1}, "gpu_hours must be a number"),
    ({"gpu_hours": math.inf, "gpu": "H100", "ci_g_per_kwh": 1}, "finite"),
    ({"gpu_hours": 1, "gpu": "H1OO", "ci_g_per_kwh": 1}, "did you mean H100"),
    ({"gpu_hours": 1, "gpu": "H100", "region": "XYZ"}, "unknown region"),
    ({"gpu_hours": 1, "gpu": "H100", "region": "NOR", "year": 1990}, "2000-2024"),
    ({"gpu_hours": 1, "gpu": "H100", "gpu_power_w": 700, "ci_g_per_kwh": 1}, "exactly one"),
    ({"gpu_hours": 1, "gpu": "H100", "ci_g_per_kwh": 1, "pue": 0.5}, "pue"),
])
def test_bad_input_raises_siting_error(kwargs, message):
    with pytest.raises(SitingError, match=message):
        footprint(**kwargs)
