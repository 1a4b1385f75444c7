import sys
from pathlib import Path

import pytest
from hypothesis import settings

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "binlog-fixtures"
if not FIXTURES.is_dir():
    FIXTURES = Path("/work/shared/binlog-fixtures")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip("binlog fixtures not found")
    return FIXTURES


settings.register_profile("binlog", deadline=None, max_examples=30, derandomize=True)
settings.load_profile("binlog")
