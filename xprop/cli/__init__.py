"""The ``xprop`` command (also ``python -m xprop``): train, evaluate, info, gradcheck, bench.

Each command is a module with ``HELP``, ``add_arguments(parser)`` and ``run(args)``.
``main`` turns every error xprop raises on purpose (and file-system errors) into one
line on stderr and a non-zero exit status, never a traceback: 1 for errors, 2 for a
wrong command line (argparse's convention), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import XpropError
from . import bench, evaluate, gradcheck, info, train

COMMANDS = {"train": train, "evaluate": evaluate, "info": info, "gradcheck": gradcheck}


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with its usage errors one line like every other error (exit 2)."""

    def error(self, message):
        print(f"xprop: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="xprop", description="Train the networks of Nielsen's book by backpropagation, on any array library.",
        epilog="Run `xprop COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"xprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    # listed for --help; main() hands everything after "bench" to the suite's own parser
    commands.add_parser("bench", help=bench.HELP, add_help=False)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"]:
            return bench.delegate(argv[1:])
        args = build_parser().parse_args(argv)
        args.argv = argv[1:]  # the command's own arguments, as written (what --resume may change)
        return args.run(args)
    except XpropError as exc:
        return _fail(str(exc))
    except BrokenPipeError:  # `xprop ... | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 128 + 13  # as if killed by SIGPIPE
    except OSError as exc:  # a file that cannot be read or written, a full disk
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return _fail(f"{exc.strerror or exc}{':' if where else ''}{where}")
    except KeyboardInterrupt as exc:  # a trainer may say what it rolled back and how to resume
        print(f"\nxprop: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130


def _fail(message):
    print(f"xprop: error: {message}", file=sys.stderr)
    return 1
