import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_fixture(name: str) -> dict:
    """tests/fixtures/<remote>/<event>__<variant>.json, e.g. load_fixture("vtex/order__handling")."""
    return json.loads((FIXTURES / f"{name}.json").read_text())
