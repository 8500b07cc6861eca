"""Fixtures shared by the unit tests (tests/) and the workflow tests (workflow_tests/)."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"


@pytest.fixture
def shared_data():
    """The real data beside the project; tests that need it skip in a user's fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (it sits beside the project in CI)")
    return SHARED_DATA
