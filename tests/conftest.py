import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import cimcost  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NET = ROOT / "examples" / "mlp-784-1024x4-10.yaml"


@pytest.fixture(scope="session")
def default_estimates() -> dict[str, dict]:
    """The paper's default network under every core rule, computed once."""
    return {rule: cimcost.estimate(str(DEFAULT_NET), rule=rule).to_dict()
            for rule in ("inference", "bp", "dfa")}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from cimcost.cli import main

    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
