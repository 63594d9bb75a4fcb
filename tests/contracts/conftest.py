"""The in-process bundle (real handlers on moto + the Douyin simulator), shared with tests/bundle."""

from tests.bundle.conftest import bundle, sim  # noqa: F401
