#!/usr/bin/env python3
"""Garbage command lines for timewarp, for tests/06-garbage.t.

    garbage.py SEED COUNT OUTSIDER_PID

Writes COUNT command lines (the arguments after `timewarp`), each as its
argument count and then its arguments, every one NUL-terminated.  The same
SEED gives the same lines.  Each line is wrong on purpose: besides well-formed
options it holds at least one *poison*, something no reading of it accepts (an
unknown option, a value no parser takes, a missing value, two options that
contradict each other, a namespace that does not exist, a change that is
refused), so that every line must fail: status 1 or 2, never 0.  The poisons
go where the command line still reads them as options (never after the
command of run or join, which would make them the command's).

The store the lines run against holds one namespace, `keep` (rate 1, not
frozen); no line names any other that exists.  OUTSIDER_PID is a live process
in no namespace.
"""
import random
import sys

VERBS = ["run", "create", "join", "set", "show", "ls", "rm"]
OPTIONS = ["at", "offset", "rate", "freeze", "resume", "advance", "monotonic",
           "boottime", "settime", "name", "pid", "json", "quiet", "force", "help",
           "version"]
FLAGS = ["--freeze", "--resume", "--json", "--quiet", "-q", "--force", "-f"]

# Values each option takes (the filler around the poisons).
GOOD = {
    "--at": ["2030-01-01", "@2000000000", "2038-01-19T03:14:07Z", "Jan 1 2030 UTC",
             "2030-01-01 00:00 +02:00", "20300101"],
    "--offset": ["+1d", "-90s", "1.5h", "1d12h", "250ms", "+0s"],
    "--rate": ["2", "0.5", "10", "1", "1000000"],
    "--advance": ["1s", "2h", "0s", "1w"],
    "--monotonic": ["+5s", "1d"],
    "--boottime": ["+5s", "1d"],
    "--settime": ["virtual", "deny"],
    "--name": ["fz-run"],
}

# Characters that no date, duration, rate, policy, pid or name contains.
POISON_CHARS = list("#!$&*?{}|~^\\\"'`;<>[]") + ["\x01", "\x1b", "\x7f", "\n", "\t",
                                                 "\u00e9", "\u202e", "\u65e5", "\U0001f600",
                                                 "\udcff"]
# Whole values no parser takes, for every option that takes one.
BAD = {
    "--at": ["", " ", "tomorrow", "2024-02-30", "2023-02-29 12:00", "2030-13-01",
             "2030-01-01T24:00Z", "2030-01-01T00:00+25:00", "1969-12-31T23:59:59Z",
             "2263-01-01T00:00Z", "@-5", "@" + "9" * 30, "99999999999999999999-01-01",
             "Jan 1 2030 CET", "now", "+1d", "2030-01-01 00:00 UTC UTC"],
    "--offset": ["", "90", "3x", "1d1d", "400y", "+250y", "-60y", "9" * 40 + "s", "1e3s",
                 "--1s", "+-1s", "1.2.3s", "s", "1 d", "0x10s"],
    "--rate": ["", "-1", "1e3", "nan", "inf", "0x10", "9" * 40, "1/2", "0.0000000000001",
               "2000000", "1,5", "2x", ".", "-0.5", "+"],
    "--advance": ["", "-1d", "1d1d", "9" * 40 + "d", "400y", "x", "1 s"],
    "--monotonic": ["", "-100000d", "+200y", "1d1d", "x"],
    "--boottime": ["", "-100000d", "+200y", "1d1d", "x"],
    "--settime": ["", "maybe", "Virtual", "DENY", "virtual ", "deny,virtual"],
    "--pid": ["", "abc", "0", "-5", "99999999999", "4294967297", "1x", " 5", "+5", "0x10",
              "5 "],
    "--name": ["", "a/b", "no way", ".", "..", "n" * 65, "\u00e9t\u00e9", "a\nb"],
}
BAD_NAMES = ["", "a/b", "no way", ".", "..", "n" * 65, "\u00e9t\u00e9", "a\nb", "@", "@@x",
             "../keep", "keep/", "ke ep"]


def enc(s):
    """An argument as the bytes a program gets (lone surrogates: raw bytes)."""
    return s.encode("utf-8", "surrogateescape")


def garbage(rng, short=False):
    """Random text holding at least one poison character."""
    kinds = [lambda: "".join(chr(rng.randint(0x20, 0x7e)) for _ in range(rng.randint(0, 12))),
             lambda: "".join(chr(rng.randint(0x80, 0x2fff)) for _ in range(rng.randint(1, 4))),
             lambda: "9" * rng.randint(15, 80),
             lambda: rng.choice(["", " ", "=", "--", "-", "@", "+", "."]),
             lambda: rng.choice(sum(GOOD.values(), []))]
    s = rng.choice(kinds)() if not short else ""
    i = rng.randint(0, len(s))
    return s[:i] + rng.choice(POISON_CHARS) + s[i:]


def value(rng, opt, good):
    if good:
        return rng.choice(GOOD[opt])
    return rng.choice(BAD[opt]) if rng.random() < 0.6 else garbage(rng)


def option(opt, val, rng):
    """--opt VALUE or --opt=VALUE."""
    return [opt + "=" + val] if rng.random() < 0.3 else [opt, val]


def filler(rng, outsider):
    """A well-formed option (which may not apply to the verb: that is bad
    input too, but no poison needs it to be)."""
    if rng.random() < 0.3:
        return [rng.choice(FLAGS)]
    if rng.random() < 0.05:
        return ["--pid", str(outsider)]
    opt = rng.choice(sorted(GOOD))
    return option(opt, value(rng, opt, True), rng)


def poison(rng, verb, outsider):
    """(tokens, where): where is 'opt' (among the options), 'last' (after
    them: a value that only a change refuses, which an option given again
    later would replace), 'end' (the last argument) or 'name' (the
    namespace's name, for verbs that take one)."""
    k = rng.randrange(9)
    if k == 0:  # an option nobody knows
        return [rng.choice(["--" + garbage(rng), "--" + rng.choice(OPTIONS) + rng.choice(
            ["x", "s", "-", "2", "_"]), "--=" + garbage(rng, True), "-" + rng.choice(
            "abcdegijklmnoprstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=?:.@+\u00e9\x01"),
            "-q" + rng.choice("zZ=1x"), "-f" + rng.choice("zZ=1x")])], "opt"
    if k == 1:  # a flag given a value
        return [rng.choice(["--freeze", "--resume", "--json", "--quiet", "--force", "--help",
                            "--version"]) + "=" + rng.choice(["", "1", "yes", garbage(rng)])], "opt"
    if k in (2, 3, 4):  # a value no parser takes
        opt = rng.choice(sorted(BAD))
        return option(opt, value(rng, opt, False), rng), "opt"
    if k == 5:  # an option that needs a value, last, without one
        return [rng.choice(sorted(BAD))], "end"
    if k == 6:  # two options that contradict each other
        return rng.choice([["--at", "2030-01-01", "--offset", "+1d"], ["--freeze", "--rate", "2"],
                           ["--freeze", "--resume"], ["--rate", "2", "--resume"],
                           ["-q", "--json"]]), "opt"
    if k == 7:  # a name no namespace has, or that no name can be
        if verb in ("run", "ls"):
            return option("--name", value(rng, "--name", False), rng), "opt"
        names = BAD_NAMES + (["keep"] if verb == "create" else ["fz-none"])
        return [rng.choice(names)], "name"
    # the namespace of a process in none, or of none at all; or a change
    # refused once the namespace is read (keep runs, so --resume has nothing
    # to resume; MONOTONIC never goes below zero)
    return rng.choice([["--pid", str(outsider)], ["--pid", "999999999"], ["--resume"],
                       ["--monotonic", "-100000d"], ["--boottime", "-100000d"]]), "last"


def key(tokens):
    """The option a group of arguments gives."""
    return tokens[0].split("=")[0]


def line(rng, outsider):
    r = rng.random()
    if r < 0.05:  # no verb, or one that is not
        first = rng.choice(["--" + garbage(rng), garbage(rng), "frobnicate", "-x", "RUN"])
        return [first] + sum((filler(rng, outsider) for _ in range(rng.randint(0, 2))), [])
    if r < 0.08:  # help for a verb that is not, or with too much
        return rng.choice([["help", garbage(rng)], ["help", rng.choice(VERBS), garbage(rng)]])
    verb = rng.choice(VERBS)
    opts = [filler(rng, outsider) for _ in range(rng.randint(0, 4))]
    fill = {id(t) for t in opts}
    end, names, last = [], [], []
    for _ in range(rng.choice([1, 1, 1, 2])):
        toks, where = poison(rng, verb, outsider)
        if where == "end":
            end = toks
        elif where == "name":
            names.append(toks)
        elif where == "last":
            last.append(toks)
        else:
            opts.insert(rng.randint(0, len(opts)), toks)
    opts += last
    # an option given again takes the later value: no well-formed one after a
    # poison of the same option (values refused only once read whole, such
    # as --offset -60y or --name ., would be replaced)
    given = {key(t) for t in opts if id(t) not in fill}
    opts = [t for t in opts if id(t) not in fill or key(t) not in given]
    if verb in ("create", "set", "show", "join", "rm") and not names and rng.random() < 0.8:
        names.append([{"create": "fz-new", "rm": "keep"}.get(verb, "keep")])
    if verb == "ls":
        names = []
    if verb == "join":  # a second would be the command
        names = names[:1]
    if verb == "rm" and rng.random() < 0.3:
        names.append(["keep"])
    # a name goes first or among the options (join: before the command)
    for n in names:
        opts.insert(0 if verb == "join" else rng.randint(0, len(opts)), n)
    args = [verb] + sum(opts, [])
    if end:
        return args + end
    if verb in ("run", "join") and rng.random() < 0.85:
        args += ["--", "true"]
    return args


def main():
    seed, count, outsider = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    out = sys.stdout.buffer
    for _ in range(count):
        args = line(rng, outsider)
        out.write(b"%d\0" % len(args))
        for a in args:
            out.write(enc(a).replace(b"\0", b"") + b"\0")
    out.flush()


main()
