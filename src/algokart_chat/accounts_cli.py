"""The command that manages the accounts file: ``algokart-chat accounts add|remove|passwd|list``.

    algokart-chat accounts --accounts FILE add NAME [--op]    # asks for the password
    algokart-chat accounts --accounts FILE passwd NAME        # sets a new one
    algokart-chat accounts --accounts FILE remove NAME
    algokart-chat accounts --accounts FILE list               # names and roles, never hashes

The same through ``python src/server.py accounts ...``, ``python -m algokart_chat accounts ...`` and
``python algokart-chat.pyz accounts ...`` (``command`` hands ``accounts`` to this module).
``--accounts`` may come before or after the subcommand; ``ACCOUNTS`` in the environment stands in
for it, as for the server.

Plan: read the file, change the ``Accounts``, write it back atomically (``accounts_file``), refusing
if another command changed it meanwhile.  ``add`` creates the file (mode 0600) if there is none.

Guarantees:

- the password is read without echo from a terminal (``getpass``, asked twice, both must match),
  or as one line from stdin otherwise, for scripts (``printf '%s\\n' "$pw" | ... add alice``); it is
  never an argument (other users could see it in ``ps``), never printed, never written anywhere
  but as its scrypt hash;
- names follow the username rules (``names``), look-alikes included: ``aIice`` is refused while
  ``alice`` has an account, and ``remove ALICE`` removes ``alice``;
- every failure is one line on stderr, and the exit status says which kind: 0 done; 1 the file
  cannot be read, used or written (or this Python has no scrypt; or Ctrl+C): nothing was changed;
  2 the command was wrong: bad usage, no file given, an invalid name, an account that exists
  (``add``) or does not (``remove``, ``passwd``), an unusable password or two that differ.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from algokart_chat.accounts import (
    Account,
    Accounts,
    PasswordHash,
    ScryptUnavailable,
    hash_password,
    name_problem,
    needs_rehash,
    password_problem,
    scrypt_available,
)
from algokart_chat.accounts_file import AccountsFileError, Snapshot, read_accounts, save_accounts
from algokart_chat.version import command_name

OK, FAILED, WRONG_USE = 0, 1, 2


class CommandError(Exception):
    """The command cannot be done; ``status`` is the exit status, the message one line."""

    def __init__(self, message: str, status: int = WRONG_USE) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(WRONG_USE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(prog: str) -> argparse.ArgumentParser:
    file_flag = _Parser(add_help=False)
    file_flag.add_argument(
        "--accounts",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the accounts file [env ACCOUNTS]; add creates it",
    )
    parser = _Parser(
        prog=prog,
        parents=[file_flag],
        description="Manage the accounts file of algokart-chat (docs/OPERATIONS.md, Accounts).",
        epilog="Exit status: 0 done, 1 the file cannot be read or written, 2 a wrong command, name or password.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{add,remove,passwd,list}")
    add = commands.add_parser("add", parents=[file_flag], help="add an account; asks for its password")
    add.add_argument("name")
    add.add_argument("--op", action="store_true", help="with the op role (moderation)")
    passwd = commands.add_parser("passwd", parents=[file_flag], help="set a new password")
    passwd.add_argument("name")
    remove = commands.add_parser("remove", parents=[file_flag], help="remove an account")
    remove.add_argument("name")
    commands.add_parser("list", parents=[file_flag], help="list the names and roles")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    prog = f"{command_name('server.py')} accounts"
    arguments = build_parser(prog).parse_args(argv)
    try:
        path = getattr(arguments, "accounts", None) or environ.get("ACCOUNTS", "")
        if not path:
            raise CommandError("no accounts file: give --accounts FILE or set ACCOUNTS")
        done = run(arguments, path)
    except CommandError as problem:
        print(f"{prog}: error: {problem}", file=sys.stderr)
        return problem.status
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted, nothing changed", file=sys.stderr)
        return FAILED
    if done:
        print(done)
    return OK


def run(arguments: argparse.Namespace, path: str) -> str:
    """Do the command; what to print (may be empty).  CommandError says why not."""
    command = arguments.command
    accounts, snapshot = _read(path, missing_ok=command == "add")
    if command != "list" and not os.path.isdir(os.path.dirname(path) or "."):  # before asking for a password
        raise CommandError(f"cannot write {path}: no such folder", FAILED)
    if command == "list":
        weak = sum(needs_rehash(account.password) for account in accounts)
        if weak:
            print(f"({weak} of these have a hash weaker than today's default: passwd renews it)", file=sys.stderr)
        return "\n".join(" ".join([account.name, *sorted(account.roles)]) for account in accounts)
    name: str = arguments.name
    problem = name_problem(name)
    if problem is not None:
        raise CommandError(f"{name!r} is {problem}")
    found = accounts.get(name)
    if command == "add":
        if found is not None:
            same = "" if found.name == name else f" (as {found.name!r}: names that look alike are one account)"
            raise CommandError(f"{name!r} has an account already{same}")
        account = Account(name, _hash(read_password(name)), frozenset({"op"}) if arguments.op else frozenset())
        _write(path, accounts.with_account(account), snapshot)
        return f"Added {name}" + (" (op)" if arguments.op else "")
    if found is None:
        raise CommandError(f"{name!r} has no account in {path}")
    if command == "passwd":
        _write(
            path, accounts.with_account(Account(found.name, _hash(read_password(found.name)), found.roles)), snapshot
        )
        return f"New password set for {found.name}"
    _write(path, accounts.without(name), snapshot)
    return f"Removed {found.name}"


def _read(path: str, missing_ok: bool) -> tuple[Accounts, Snapshot]:
    try:
        return read_accounts(path, missing_ok)
    except AccountsFileError as problem:
        raise CommandError(str(problem), FAILED) from None


def _write(path: str, accounts: Accounts, snapshot: Snapshot) -> None:
    try:
        save_accounts(path, accounts, since=snapshot)
    except AccountsFileError as problem:
        raise CommandError(str(problem), FAILED) from None


def _hash(password: str) -> PasswordHash:
    try:
        return hash_password(password)
    except ScryptUnavailable as problem:
        raise CommandError(str(problem), FAILED) from None


def read_password(name: str) -> str:
    """The new password: without echo from a terminal, asked twice; else one line of stdin."""
    if not scrypt_available():  # before the user types anything
        raise CommandError(str(ScryptUnavailable()), FAILED)
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != password:
            raise CommandError("the two passwords differ; nothing changed")
    else:
        line = sys.stdin.buffer.readline()
        if not line:
            raise CommandError("no password: stdin is not a terminal, so one line of it is the password")
        try:
            password = line.decode("utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError:
            raise CommandError("the password on stdin is not UTF-8") from None
    problem = password_problem(password)
    if problem is not None:
        raise CommandError(problem)
    return password
