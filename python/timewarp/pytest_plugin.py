"""pytest plugin of timewarp: the ``timewarp_ns`` fixture.

A test that asks for ``timewarp_ns`` gets a fresh timewarp.Namespace, removed
after the test.  Its clocks come from the test's ``timewarp`` marker, which
takes Namespace's arguments::

    @pytest.mark.timewarp(at="2038-01-19T03:14:07Z", freeze=True)
    def test_y2038(timewarp_ns):
        out = subprocess.run(timewarp_ns.command(["./app"]), capture_output=True)
        timewarp_ns.set(advance="1d")

Installed with the timewarp module, pytest loads it by itself (entry point
pytest11); elsewhere, name it in ``pytest_plugins = ["timewarp.pytest_plugin"]``.
"""

import pytest

from . import Namespace


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "timewarp(at=None, offset=None, rate=None, freeze=False, ...): "
        "the clocks of the timewarp_ns fixture (timewarp.Namespace's arguments)")


@pytest.fixture
def timewarp_ns(request):
    """A timewarp.Namespace for this test, removed after it."""
    marker = request.node.get_closest_marker("timewarp")
    kwargs = dict(marker.kwargs) if marker else {}
    with Namespace(**kwargs) as ns:
        yield ns
