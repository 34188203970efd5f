"""One style for every command line of the course: an option table, every flag checked before any
data is read or any folder is made, one-line errors naming the flag, exit status 2.

A command lists its options as rows ``(flags, default, rule, help)``: ``flags`` ``"--num-hiddens"`` or
``("-hs", "--num-hiddens")`` (long names as in the glossary); ``rule`` a :class:`Rule` (:data:`POSITIVE`,
:data:`NON_NEGATIVE`, :data:`POSITIVE_NUMBER`, :data:`FRACTION`, :data:`TEXT`, :func:`one_of`) or ``bool``
for a switch. :func:`parse` reads the command line against the table, then runs the command's own
``check`` (options that depend on each other, the machine, the disk), which raises :class:`Refused`.
Every failure prints one line, e.g. ``python -m seqlib.copy_task: error: argument -hs/--num-hiddens: must
be a positive integer, got 0``.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["Rule", "POSITIVE", "NON_NEGATIVE", "POSITIVE_NUMBER", "FRACTION", "TEXT", "one_of", "Refused",
           "parse"]


class Rule:
    """Read a flag's text as ``kind``; accept the value when ``test(value)`` holds; ``what`` says which
    values are allowed (in the error and, for :func:`one_of`, in ``--help``)."""

    def __init__(self, kind: type, test, what: str, metavar: str | None = None):
        self.kind, self.test, self.what, self.metavar = kind, test, what, metavar

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not self.test(value):
            raise argparse.ArgumentTypeError(f"must be {self.what}, got {text!r}")
        return value


POSITIVE = Rule(int, lambda v: v >= 1, "a positive integer")
NON_NEGATIVE = Rule(int, lambda v: v >= 0, "a non-negative integer")
POSITIVE_NUMBER = Rule(float, lambda v: 0 < v < math.inf, "a positive finite number")
FRACTION = Rule(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
TEXT = Rule(str, lambda v: v.strip() != "", "a non-empty text")


def one_of(*choices: str) -> Rule:
    """A rule accepting exactly the names ``choices``."""
    return Rule(str, lambda v: v in choices, "one of " + ", ".join(choices), "{" + ",".join(choices) + "}")


class Refused(Exception):
    """Raised by a command's ``check``: the option ``dest`` (its name in the parsed arguments) is refused."""

    def __init__(self, dest: str, reason: str):
        super().__init__(reason)
        self.dest = dest


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line (argparse's own messages name the option), then exit status 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")


def parse(prog: str, description: str, options, argv=None, check=None) -> argparse.Namespace:
    """The options of ``argv`` (the process's own when ``None``) read and checked against the table
    ``options``, then ``check(args)``; a refusal prints one line naming the option and exits with status 2."""
    parser = _Parser(prog=prog, description=description, allow_abbrev=False,
                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for flags, default, rule, text in options:
        flags = (flags,) if isinstance(flags, str) else flags
        if rule is bool:
            parser.add_argument(*flags, action="store_true", help=text)
        else:
            parser.add_argument(*flags, type=rule, default=default, help=text, metavar=rule.metavar)
    args = parser.parse_args(argv)
    try:
        if check is not None:
            check(args)
    except Refused as err:
        action = next(a for a in parser._actions if a.dest == err.dest)
        parser.error(f"argument {'/'.join(action.option_strings)}: {err}")
    return args
