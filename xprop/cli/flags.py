"""The library's arguments as the command line spells them: its options' flags.

The library's errors name the arguments they ask for as ``xprop.errors.Setting``s, spelled
as Python (``pass output_activation='sigmoid'``); on the command line the same message
names the command's flag (``pass --output-activation sigmoid``). The spelling is read from
the command's own options (its ``add_arguments``, here called ``command``), so that each
flag is written down once, where it is defined. An argument the command has no flag for
keeps its Python spelling.
"""

from __future__ import annotations

import argparse
import functools
import shlex

from ..errors import InputError, Setting

#: the library's names of arguments whose command-line option has another dest: the
#: first of these a command has (``name``, the dataset: --dataset, or predict's DATA)
DESTS = {"test_path": ("test_data",), "data_dir": ("data",), "name": ("dataset", "data")}


def message(error, command) -> str:
    """``str(error)``, with the Settings of an InputError spelled as ``command``'s flags."""
    if not isinstance(error, InputError):
        return str(error)
    return error.spelled(lambda setting: spelled(setting, command))


def spelled(setting: Setting, command) -> str:
    """``setting`` as ``command``'s flag (``--header``, ``--no-header``, ``--eta 0.3``)."""
    words = arguments(setting, command)
    return " ".join(map(shlex.quote, words)) if words else str(setting)


def arguments(setting: Setting, command) -> list | None:
    """``setting`` as the words of ``command``'s command line (``["--eta", "0.3"]``): [] for
    the value of a switch that no option sets (``download=True``), None when ``command``
    has no option for it."""
    actions = _actions(command)
    action = next((actions[dest] for dest in (setting.name, *DESTS.get(setting.name, ())) if dest in actions), None)
    if action is None:
        return None
    if setting.value is Setting.NO_VALUE:
        return [action.option_strings[0] if action.option_strings else action.metavar or action.dest.upper()]
    if action.nargs == 0:  # a switch: the option string that sets the value, if one does
        if isinstance(action, argparse.BooleanOptionalAction):
            option = None if setting.value is None else action.option_strings[not setting.value]
        else:
            option = action.option_strings[0] if action.const == setting.value else None
        return [] if option is None else [option]
    values = setting.value if isinstance(setting.value, (list, tuple)) else [setting.value]
    return [*action.option_strings[:1], *map(str, values)]


@functools.cache
def _actions(command) -> dict:
    """dest -> the argparse action of each option and positional argument ``command`` (an
    ``add_arguments``; None: no command) adds to a parser."""
    if command is None:
        return {}
    parser = argparse.ArgumentParser(add_help=False)
    command(parser)
    return {action.dest: action for action in parser._actions}
