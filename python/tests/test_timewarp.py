"""Tests of the timewarp module: real namespaces, real members (date, python3).

They need the timewarp command on PATH (tests/94-python.t puts the built one
there) and the module installed (the fixture comes from its entry point)."""

import datetime
import os
import subprocess
import sys

import pytest

import timewarp

UTC = datetime.timezone.utc


def member_output(ns, argv):
    return subprocess.run(ns.command(argv), check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


def names():
    return subprocess.run([timewarp.find_timewarp(), "ls", "-q"], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.split()


def test_a_member_runs_in_2030_and_set_moves_it():
    with timewarp.Namespace(at="2030-01-01T00:00:00Z") as ns:
        assert member_output(ns, ["date", "-u", "+%Y"]) == "2030"
        ns.set(advance="400d")
        now = ns.now()
        assert now.year == 2031
        assert now.tzinfo is not None and now.utcoffset() == datetime.timedelta(0)
        assert member_output(ns, ["date", "-u", "+%Y-%m-%d"]) == "2031-02-05"


def test_the_namespace_is_gone_after_the_block():
    with timewarp.Namespace(offset="+1d") as ns:
        assert ns.name in names()
    assert ns.name not in names()


def test_bad_rate_names_the_value():
    with pytest.raises(ValueError, match="'fast'"):
        timewarp.Namespace(rate="fast")
    with pytest.raises(ValueError, match="-1"):
        timewarp.Namespace(rate=-1)


def test_bad_duration_names_the_value():
    with pytest.raises(ValueError, match="'1d1d'"):
        timewarp.Namespace(offset="1d1d")
    with pytest.raises(ValueError, match="'3x'"):
        timewarp.Namespace(offset="3x")


def test_bad_date_names_the_value_and_creates_nothing():
    before = names()
    with pytest.raises(ValueError, match="'2030-02-30'"):
        with timewarp.Namespace(at="2030-02-30"):
            pass
    with pytest.raises(ValueError, match="before 1970"):
        with timewarp.Namespace(at=datetime.datetime(1969, 7, 20, 20, 17, tzinfo=UTC)):
            pass
    assert names() == before


def test_bad_name_and_conflicts():
    with pytest.raises(ValueError, match="'a/b'"):
        timewarp.Namespace(name="a/b")
    with pytest.raises(ValueError, match="at and offset"):
        timewarp.Namespace(at="2030-01-01", offset="1d")


def test_a_failing_command_raises_with_its_message(tmp_path, monkeypatch):
    # a namespaces directory others could write to is refused: timewarp's own failure
    (tmp_path / "timewarp").mkdir(mode=0o755)
    os.chmod(tmp_path / "timewarp", 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(timewarp.TimewarpError) as e:
        with timewarp.Namespace():
            pass
    assert e.value.status == 1
    assert "timewarp: mode 0755, must be 0700" in e.value.message
    assert not isinstance(e.value, ValueError)


def test_a_refused_request_is_a_value_error_too():
    with timewarp.Namespace(name="py-taken") as ns:
        with pytest.raises(timewarp.TimewarpUsageError, match="already exists") as e:
            timewarp.Namespace(name="py-taken").create()
        assert isinstance(e.value, ValueError) and e.value.status == 2
        with pytest.raises(ValueError, match="not frozen"):
            ns.set(resume=True)


def test_python_types():
    start = datetime.datetime(2030, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    with timewarp.Namespace(at=start, freeze=True) as ns:
        assert ns.now() == start
        ns.set(advance=datetime.timedelta(days=1, seconds=1))
        assert ns.now() == start + datetime.timedelta(days=1, seconds=1)
        ns.set(advance=0.5)
        assert ns.now() == start + datetime.timedelta(days=1, seconds=1.5)
        ns.set(at=2000000000)
        assert member_output(ns, ["date", "+%s"]) == "2000000000"
    with timewarp.Namespace(at=datetime.datetime(2030, 6, 1, tzinfo=datetime.timezone(
            datetime.timedelta(hours=2))), freeze=True) as ns:
        assert ns.now() == datetime.datetime(2030, 5, 31, 22, 0, tzinfo=UTC)


def test_naive_datetimes_are_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    with timewarp.Namespace(at=datetime.datetime(2030, 1, 1), freeze=True) as ns:
        assert ns.now() == datetime.datetime(2030, 1, 1, tzinfo=UTC)


def test_rate_and_show():
    with timewarp.Namespace(rate=2.5, settime="deny") as ns:
        doc = ns.show()
        assert doc["name"] == ns.name
        assert doc["rate"] == 2.5
        assert doc["settime"] == "deny"
        ns.set(freeze=True)
        assert ns.show()["frozen"] is True
        ns.set(resume=True)
        assert ns.show()["rate"] == 2.5


def test_command_and_members():
    with timewarp.Namespace(at="@2000000000", freeze=True) as ns:
        argv = ns.command(["date", "+%s"])
        assert argv[1:] == ["join", ns.name, "--", "date", "+%s"]
        with pytest.raises(TypeError):
            ns.command("date")
        out = ns.run([sys.executable, "-c", "import time; print(int(time.time()))"],
                     stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        assert out == "2000000000"
        # a member still running when the block ends does not stop its removal
        member = ns.popen(["sleep", "30"])
    try:
        assert ns.name not in names()
    finally:
        member.kill()
        member.wait()


def test_not_created_yet():
    ns = timewarp.Namespace(offset="1h")
    with pytest.raises(timewarp.TimewarpError, match="not created"):
        ns.command(["date"])


@pytest.mark.timewarp(at="2038-01-19T03:14:07Z", freeze=True)
def test_fixture_takes_the_marker(timewarp_ns):
    assert member_output(timewarp_ns, ["date", "+%s"]) == "2147483647"
    timewarp_ns.set(advance="1d")
    assert timewarp_ns.now() == datetime.datetime(2038, 1, 20, 3, 14, 7, tzinfo=UTC)


def test_fixture_without_marker(timewarp_ns):
    host = datetime.datetime.now(UTC)
    assert abs(timewarp_ns.now() - host) < datetime.timedelta(minutes=5)
