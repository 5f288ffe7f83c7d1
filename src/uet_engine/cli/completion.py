"""``uet completion bash|zsh|fish``: tab completion through argcomplete, from the parser itself.

Why argcomplete: it completes straight from the argparse parser ``uet`` already has (commands, options,
choices, and the completers attached to arguments: contract kinds, run ids), so completion can never
drift from the command line. ``main`` calls ``complete`` before anything else when the shell asks
(argcomplete sets ``_ARGCOMPLETE``); every other start of ``uet`` never imports argcomplete.
"""

from __future__ import annotations

import argparse

from uet_engine.cli import Subparsers, add_command

SHELLS = ("bash", "zsh", "fish")

HELP = """\
Print the shell code that lets your shell complete uet's commands, options, contract kinds and run ids
when you press Tab. Load it from your shell's start-up file:

  bash   eval "$(uet completion bash)"      in ~/.bashrc
  zsh    eval "$(uet completion zsh)"       in ~/.zshrc, after compinit
  fish   uet completion fish | source       in ~/.config/fish/config.fish

Exit status: 0, or 2 for a shell that is not one of these.
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "completion", "print the shell code for tab completion", HELP)
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["uet"], shell=args.shell), end="")
    return 0


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit (argcomplete does both)."""
    import argcomplete

    argcomplete.autocomplete(parser)
