"""The ``xprop`` command (also ``python -m xprop``): train, evaluate, predict, export, info, gradcheck,
parity, bench.

Each command is a module with ``HELP``, ``add_arguments(parser)`` and ``run(args)``.
``main`` turns every error xprop raises on purpose (and file-system errors, and running
out of memory) into one line on stderr and a non-zero exit status, never a traceback: 1
for errors, 2 for a wrong command line (argparse's convention), 128 + the signal's
number when stopped by a signal (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

SIGTERM (what ``timeout``, docker, systemd and SLURM send) and SIGHUP (a closed terminal)
stop a command as Ctrl-C does (``stops.py``): ``xprop train`` rolls back to the last
complete epoch, keeps its checkpoint and says how to resume. Once one of these signals is
being handled, further ones are ignored until the command has ended, so that none breaks
off the save.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ..errors import XpropError
from . import bench, evaluate, export, flags, gradcheck, info, parity, predict, train
from .stops import Stops

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "export": export, "info": info,
            "gradcheck": gradcheck, "parity": parity}

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


#: the exit status of a command whose reader left (``| head``): as if killed by SIGPIPE
READER_LEFT = 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


def main(argv=None) -> int:
    code = _main(sys.argv[1:] if argv is None else list(argv))
    if not _flush_stdout() and code == 0:  # what was still buffered found no reader
        return READER_LEFT
    return code


def _main(argv) -> int:
    stops = Stops()
    if sys.stdout is None:  # started with stdout closed (`>&-`): what it would print goes nowhere
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (the process's stdout)
    try:
        if argv[:1] == ["bench"]:
            with stops:
                return bench.delegate(argv[1:])
        args = build_parser().parse_args(argv)
        args.argv = argv[1:]  # the command's own arguments, as written (what --resume may change)
        args.stops = stops  # which signal stopped it: the ranks of --distributed end the job themselves
        with stops:
            return args.run(args)
    except XpropError as exc:  # the library's arguments named as the command's flags
        command = COMMANDS.get(argv[0]) if argv else None
        return _fail(flags.message(exc, command and command.add_arguments))
    except BrokenPipeError:  # `xprop ... | head`: the reader left; stop quietly, as Unix tools do
        _quiet_stdout()
        return READER_LEFT
    except OSError as exc:  # a file that cannot be read or written, a full disk
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return _fail(f"{exc.strerror or exc}{':' if where else ''}{where}")
    except MemoryError as exc:  # numpy's and cupy's out-of-memory errors are MemoryErrors
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no memory left"
        command = " ".join(["xprop", *argv[:1]])
        return _fail(f"out of memory while running {command} ({detail}); "
                     "use a smaller network, mini-batch or data set, or free memory")
    except KeyboardInterrupt as exc:  # a trainer may say what it rolled back and how to resume
        try:
            print(f"\n{stops.line(exc)}", file=sys.stderr)
        except (OSError, ValueError):  # stderr is gone too: the exit status says it
            pass
        return stops.status


def _quiet_stdout():
    """Point stdout at /dev/null, so that nothing more written, nor the flush at exit, fails."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout closed or not a file: nothing to redirect
        pass


def _flush_stdout() -> bool:
    """Flush stdout now, while an error can still be handled: a reader that left (``| head``)
    or a closed stdout must not end the command in a traceback at exit. False when the
    reader had left."""
    if sys.stdout is None:
        return True
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return False
    except (OSError, ValueError):
        _quiet_stdout()
    return True


def _fail(message):
    print(f"xprop: error: {message}", file=sys.stderr)
    return 1
