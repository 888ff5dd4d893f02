"""Drive timewarp time namespaces from Python.

timewarp gives a process tree its own clocks: a time namespace in user space.
This module drives the ``timewarp`` command (found on PATH, or named by the
TIMEWARP environment variable) and needs nothing beyond the standard library::

    import subprocess, timewarp

    with timewarp.Namespace(at="2030-01-01T00:00:00Z") as ns:
        subprocess.run(ns.command(["date", "-u", "+%Y"]))   # prints 2030
        ns.set(advance="400d")
        ns.now().year                                       # 2031

Values are what the command takes (see ``timewarp help set``) or Python's own
types: dates as aware datetimes (naive ones are local time, as the command
reads dates without a zone), durations as timedeltas or seconds, rates as
numbers.  A bad value raises ValueError naming it; a failing command raises
TimewarpError carrying its message.
"""

import datetime
import decimal
import json
import os
import re
import secrets
import shutil
import subprocess

__all__ = ["Namespace", "TimewarpError", "TimewarpUsageError", "find_timewarp"]
__version__ = "0.1.0"

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
_UNITS = ("ns", "us", "ms", "s", "m", "h", "d", "w", "y")
_DURATION = re.compile(r"[+-]?(?:(?:\d+(?:\.\d+)?|\.\d+)(?:ns|us|ms|s|m|h|d|w|y))+\Z")


class TimewarpError(RuntimeError):
    """The timewarp command failed: ``message`` is what it said, ``status``
    its exit status, ``argv`` what was run."""

    def __init__(self, message, status=None, argv=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.argv = argv


class TimewarpUsageError(TimewarpError, ValueError):
    """The timewarp command refused a value or a request (its status 2)."""


def find_timewarp():
    """The timewarp command: $TIMEWARP, else the first on PATH."""
    path = os.environ.get("TIMEWARP") or shutil.which("timewarp")
    if not path:
        raise TimewarpError("timewarp is not on PATH (install it, or set TIMEWARP to its path)")
    return path


def _decimal(value, what):
    """A number as the command reads it: a decimal without exponent."""
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        raise ValueError("invalid %s %r: not a number" % (what, value))
    d = decimal.Decimal(repr(value) if isinstance(value, float) else value)
    if not d.is_finite():
        raise ValueError("invalid %s %r: not a finite number" % (what, value))
    return format(d, "f")


def _rate(value):
    if isinstance(value, str):
        if not re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", value):
            raise ValueError("invalid rate %r: not a decimal number from 0 to 1000000" % (value,))
        return value
    text = _decimal(value, "rate")
    if text.startswith("-"):
        raise ValueError("invalid rate %r: must not be negative" % (value,))
    return text


def _duration(value, what):
    if isinstance(value, datetime.timedelta):
        us = (value.days * 86400 + value.seconds) * 1000000 + value.microseconds
        return "%+dus" % us
    if isinstance(value, str):
        if not _DURATION.match(value):
            raise ValueError("invalid duration %r for %s: use [+-]NUMBER UNIT..., units %s"
                             % (value, what, " ".join(_UNITS)))
        units = re.findall(r"[a-z]+", value)
        if len(units) != len(set(units)):
            raise ValueError("invalid duration %r for %s: a unit given twice" % (value, what))
        return value
    text = _decimal(value, "duration for " + what)  # seconds
    return text + "s" if text.startswith("-") else "+" + text + "s"


def _date(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.isoformat(sep=" ")  # local time, as the command reads it
        delta = value - _EPOCH
        us = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
        sign, us = ("-", -us) if us < 0 else ("", us)
        return "@%s%d.%06d" % (sign, us // 1000000, us % 1000000)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        if not value:
            raise ValueError("invalid date '': empty")
        return value  # the command reads the many forms people type
    return "@" + _decimal(value, "date (seconds since 1970)")


def _clock_args(at=None, offset=None, rate=None, freeze=False, monotonic=None,
                boottime=None, settime=None, advance=None, resume=False):
    """The command line of a change; ValueError for a value it cannot be."""
    args = []
    if at is not None and offset is not None:
        raise ValueError("at and offset both set REALTIME; give one")
    if freeze and rate is not None:
        raise ValueError("freeze and rate both set the rate; give one")
    if at is not None:
        args += ["--at", _date(at)]
    if offset is not None:
        args += ["--offset", _duration(offset, "offset")]
    if rate is not None:
        args += ["--rate", _rate(rate)]
    if freeze:
        args.append("--freeze")
    if resume:
        args.append("--resume")
    if advance is not None:
        args += ["--advance", _duration(advance, "advance")]
    if monotonic is not None:
        args += ["--monotonic", _duration(monotonic, "monotonic")]
    if boottime is not None:
        args += ["--boottime", _duration(boottime, "boottime")]
    if settime is not None:
        if settime not in ("virtual", "deny"):
            raise ValueError("invalid settime policy %r: use 'virtual' or 'deny'" % (settime,))
        args += ["--settime", settime]
    return args


class Namespace:
    """A time namespace, created on entering the ``with`` block and removed on
    leaving it (its members keep their clocks).

    at: the REALTIME to start at; offset: REALTIME relative to now; rate: how
    many times as fast the clocks run; freeze: stopped clocks; monotonic,
    boottime: those clocks relative to now; settime: 'virtual' or 'deny'.
    name: a name others can join it by (one is made up when None).
    """

    def __init__(self, at=None, offset=None, rate=None, freeze=False, name=None, *,
                 monotonic=None, boottime=None, settime=None, timewarp=None):
        if name is not None and not (isinstance(name, str) and _NAME.match(name)):
            raise ValueError("invalid namespace name %r: use 1 to 64 of A-Z a-z 0-9 . _ -"
                             % (name,))
        self._args = _clock_args(at=at, offset=offset, rate=rate, freeze=freeze,
                                 monotonic=monotonic, boottime=boottime, settime=settime)
        self._timewarp = timewarp
        self.name = name
        self._created = False

    def _run(self, *args):
        argv = [self._timewarp or find_timewarp()] + list(args)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        if r.returncode:
            lines = [l for l in r.stderr.splitlines() if l and not l.startswith("Try '")]
            message = lines[0] if lines else "exit status %d" % r.returncode
            message = re.sub(r"^[^:\s]+: ", "", message, count=1)  # "timewarp: "
            cls = TimewarpUsageError if r.returncode == 2 else TimewarpError
            raise cls(message, r.returncode, argv)
        return r.stdout

    def create(self):
        """Create the namespace (``with`` does this)."""
        if self._created:
            raise TimewarpError("namespace %r exists already" % self.name)
        if self.name is None:
            self.name = "py-%d-%s" % (os.getpid(), secrets.token_hex(4))
        self._run("create", self.name, *self._args)
        self._created = True
        return self

    def remove(self):
        """Remove the namespace, even while it has members (``with`` does this)."""
        if self._created:
            self._created = False
            self._run("rm", "--force", self.name)

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.remove()
        return False

    def command(self, argv):
        """The argv that runs ``argv`` as a member of this namespace."""
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a list of arguments, not a string")
        return [self._timewarp or find_timewarp(), "join", self._need_name(), "--"] + list(argv)

    def run(self, argv, **kwargs):
        """subprocess.run of ``argv`` as a member."""
        return subprocess.run(self.command(argv), **kwargs)

    def popen(self, argv, **kwargs):
        """subprocess.Popen of ``argv`` as a member."""
        return subprocess.Popen(self.command(argv), **kwargs)

    def set(self, advance=None, at=None, offset=None, rate=None, freeze=False, resume=False,
            *, monotonic=None, boottime=None, settime=None):
        """Change the clocks while members run (``timewarp set``)."""
        args = _clock_args(at=at, offset=offset, rate=rate, freeze=freeze, resume=resume,
                           monotonic=monotonic, boottime=boottime, settime=settime,
                           advance=advance)
        if not args:
            raise ValueError("set needs a change: advance, at, offset, rate, freeze, resume, "
                             "monotonic, boottime or settime")
        self._run("set", "-q", self._need_name(), *args)

    def show(self):
        """``timewarp show --json`` as a dict."""
        return json.loads(self._run("show", self._need_name(), "--json"))

    def now(self):
        """The namespace's REALTIME, as an aware datetime in UTC."""
        ns = self.show()["realtime"]["ns"]
        return _EPOCH + datetime.timedelta(microseconds=ns // 1000)

    def _need_name(self):
        if not self._created:
            raise TimewarpError("the namespace is not created yet (use it in a with block)")
        return self.name

    def __repr__(self):
        return "<timewarp.Namespace %s%s>" % (self.name, "" if self._created else " (not created)")
