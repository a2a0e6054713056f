"""Fixtures the sandbox's contract tests share; the running sandbox is tests/fixtures/sandbox.py."""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.reckon_helpers import ReckonApi, reckon_api


@pytest.fixture
def api(sandbox: SandboxHandle) -> ReckonApi:
    """Clinic 0's Reckon book, with a bearer token from the control route."""
    return reckon_api(sandbox)
