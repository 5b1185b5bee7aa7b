"""What the client shows on a terminal and how the user types there: server lines made safe to
show (``for_terminal``), written above the prompt without garbling the line being typed
(``Screen``), in colour where the terminal takes it, and the line editor (readline and its history
where it exists; on Windows a small console editor).

Whatever the server sends is text to a terminal, never commands: every character a terminal would
act on instead of showing it (control characters but tab, bidirectional controls, line
separators) and invalid UTF-8 are shown as U+FFFD.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from algokart_chat.version import command_name

try:
    import readline
except ImportError:  # Windows, or a Python built without it
    readline = None  # type: ignore[assignment]  # the module or None: callers check

PROG = command_name("test_client.py")  # the name the client goes by in its messages
PROMPT = "> "
HISTORY_FILE = Path.home() / ".algokart_chat_history"
COLOURS = {"DM": "\x1b[1;35m", "INFO": "\x1b[2m", "ERR": "\x1b[31m", "MSG": "", "USER": "\x1b[36m"}
RESET = "\x1b[0m"
# What a terminal acts on instead of showing it: C0 controls but tab (ESC opens the sequences that
# clear the screen, write the clipboard (OSC 52) or make links (OSC 8)), DEL, C1 controls (CSI and
# OSC in one character), the bidirectional controls that reorder what follows ("Trojan Source"),
# and the line and paragraph separators some terminals and tools break lines at.
TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def for_terminal(line: bytes) -> str:
    """A server line as a terminal may show it: its LF (or CR LF) removed, invalid UTF-8 and every
    character a terminal would act on (``TERMINAL_CONTROLS``) replaced by U+FFFD.

    U+FFFD rather than caret notation (``^[``): it is what invalid UTF-8 already becomes, so one
    sign means "not shown", it is never mistaken for text someone typed, and it stands as well for
    C1 and bidirectional controls, which have no caret form.
    """
    return TERMINAL_CONTROLS.sub("\ufffd", line.decode("utf-8", "replace").rstrip("\r\n"))


class Screen:
    """Writes server lines above the prompt without garbling what the user is typing."""

    def __init__(self, colour: bool, current_input: Callable[[], str]) -> None:
        self.colour = colour
        self.current_input = current_input
        self.prompting = False  # True while the prompt is on screen and the user can type
        self.in_readline_hooks = False  # readline is running our hooks: see interactive.prompt_interrupter
        self.editing: Callable[[], bool] = lambda: True  # False once the line editor has let go
        self.lock = threading.Lock()
        self.hidden_pongs: collections.deque[bool] = collections.deque()  # one entry per PING sent

    def show(self, raw: bytes) -> None:
        line = for_terminal(raw)
        if line == "PONG" and self.hidden_pongs and self.hidden_pongs.popleft():
            return
        if self.colour:
            code = COLOURS.get(line.split(" ", 1)[0], "")
            line = f"{code}{line}{RESET}" if code else line
        with self.lock:
            redraw = f"{PROMPT}{self.current_input()}" if self.prompting and self.editing() else ""
            sys.stdout.write(f"\r\x1b[K{line}\n{redraw}")
            sys.stdout.flush()


class WindowsLineEditor:
    """A minimal line editor on ``msvcrt`` so incoming lines can redraw what is being typed."""

    def __init__(self) -> None:
        import msvcrt

        # typeshed declares msvcrt's functions on Windows only; the tests drive a stand-in elsewhere.
        self._getwch: Callable[[], str] = msvcrt.getwch  # type: ignore[attr-defined,unused-ignore]
        self.buffer = ""

    def input(self, prompt: str) -> str:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        self.buffer = ""
        while True:
            char = self._getwch()
            if char in ("\r", "\n"):
                sys.stdout.write("\n")
                line, self.buffer = self.buffer, ""
                return line
            if char == "\x03":
                raise KeyboardInterrupt
            if char in ("\x1a", "\x04") and not self.buffer:
                raise EOFError
            if char in ("\x00", "\xe0"):  # arrow and function keys: two characters, ignored
                self._getwch()
            elif char == "\b":
                if self.buffer:
                    self.buffer = self.buffer[:-1]
                    sys.stdout.write("\b \b")
            elif char.isprintable():
                self.buffer += char
                sys.stdout.write(char)
            sys.stdout.flush()


def line_editor() -> tuple[Callable[[], str], Callable[[str], str]]:
    """What the user has typed so far on the current line, and how a line is read after a prompt:
    readline where it exists (its history loaded), on Windows the console editor, else ``input``."""
    if readline is not None:
        load_history()
        return readline.get_line_buffer, input
    if sys.platform == "win32":
        editor = WindowsLineEditor()
        return (lambda: editor.buffer), editor.input
    return (lambda: ""), input


def track_readline_prompt(screen: Screen) -> bool:
    """Redraw the prompt only while GNU readline really shows it; False where that cannot be known.

    readline draws the prompt between its startup and pre-input hooks, so the screen's lock is held
    across them: a server line lands either before the prompt exists (no redraw; readline draws it)
    or after (redraw).  Once a line is entered, readline gives the terminal back to canonical mode
    before it returns, which ``editing`` sees, so a line arriving then is not followed by a stray
    prompt either.
    """
    if readline is None or "libedit" in (readline.__doc__ or "") or not hasattr(readline, "set_pre_input_hook"):
        return False
    try:
        import termios

        terminal = sys.stdin.fileno()
        termios.tcgetattr(terminal)
    except (ImportError, OSError, ValueError):
        return False

    def editing() -> bool:
        try:
            return not termios.tcgetattr(terminal)[3] & termios.ICANON
        except termios.error:
            return False

    def drawing_prompt() -> None:
        screen.in_readline_hooks = True
        screen.lock.acquire()

    def prompt_drawn() -> None:
        screen.prompting = True
        screen.lock.release()
        screen.in_readline_hooks = False

    screen.editing = editing
    readline.set_startup_hook(drawing_prompt)
    readline.set_pre_input_hook(prompt_drawn)
    return True


def use_colour() -> bool:
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return False
    if sys.platform == "win32":
        try:  # turn on ANSI escape handling in the Windows console
            import ctypes

            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]  # Windows only
            handle = kernel32.GetStdHandle(-11)
            mode = ctypes.c_uint32()
            kernel32.GetConsoleMode(handle, ctypes.byref(mode))
            return bool(kernel32.SetConsoleMode(handle, mode.value | 0x0004))
        except (AttributeError, OSError):
            return False
    return True


def load_history() -> None:
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY_FILE)
    readline.set_history_length(1000)


def forget_last_line() -> None:
    """Take the line just read out of readline's history (one that holds a password)."""
    if readline is not None and (length := readline.get_current_history_length()) > 0:
        with contextlib.suppress(ValueError):
            readline.remove_history_item(length - 1)


def save_history() -> None:
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY_FILE)
