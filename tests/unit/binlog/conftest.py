import sys
from pathlib import Path

import pytest
from hypothesis import settings
from tests.shared import BINLOG_FIXTURES

FIXTURES = BINLOG_FIXTURES
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def fixtures() -> Path:
    assert FIXTURES.is_dir(), f"the binlog fixtures are missing: {FIXTURES}"
    return FIXTURES


settings.register_profile("binlog", deadline=None, max_examples=30, derandomize=True)
settings.load_profile("binlog")
