"""The terminal client: ``python src/test_client.py [--host H] [--port P] [--user NAME] [--tls ...]``
(installed: ``algokart-chat-client``).

What the user types is sent as is; what the server sends is shown as it arrives.

- Interactive (stdin is a terminal): a ``> `` prompt with line editing and history (readline
  where it exists; on Windows a small console editor).  A server line that arrives while the user
  is typing gets its own row above the prompt and the half-typed line is redrawn intact.  Colour
  when stdout is a terminal and NO_COLOR is unset.  A hidden keep-alive PING after 25 s of
  silence keeps a reader from an idle timeout (off by default on the server) and NATs.  QUIT, EXIT, Ctrl+D and Ctrl+C leave
  with status 0; the server going away is one line on stderr and status 1.
- Scripted (stdin is a pipe or file): every line is sent, every server line is printed exactly
  as received (to a terminal: as below), and at end of input the client sends QUIT and waits for
  the server to close, so no reply is lost.

Whatever the server sends is text to a terminal, never commands: on a terminal (and always in
interactive mode) every character a terminal would act on instead of showing it (control
characters but tab, bidirectional controls, line separators) and invalid UTF-8 are shown as
U+FFFD (``for_terminal``), and a character the terminal's encoding lacks as ``?``.

``--tls`` connects with TLS, verifying the server's certificate against the system store or
``--cafile``; ``--insecure`` skips verification (for self-signed test setups) and says so on stderr.

Exit status: 0 after QUIT (typed, end of input, Ctrl+D, Ctrl+C), 1 when the connection cannot be
made (refused, unknown host, time-out, untrusted certificate) or is lost, 2 for bad flags.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import re
import selectors
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from algokart_chat.version import __version__, command_name

try:
    import readline
except ImportError:  # Windows, or a Python built without it
    readline = None  # type: ignore[assignment]  # the module or None: callers check

PROG = command_name("test_client.py")
PROMPT = "> "
KEEPALIVE_SECONDS = 25.0  # inside any idle timeout a server is run with, and NATs' quiet-flow limits
QUIT_WAIT_SECONDS = 5.0  # how long to wait for the server to close after QUIT
HISTORY_FILE = Path.home() / ".algokart_chat_history"
COLOURS = {"DM": "\x1b[1;35m", "INFO": "\x1b[2m", "ERR": "\x1b[31m", "MSG": "", "USER": "\x1b[36m"}
RESET = "\x1b[0m"
# What a terminal acts on instead of showing it: C0 controls but tab (ESC opens the sequences that
# clear the screen, write the clipboard (OSC 52) or make links (OSC 8)), DEL, C1 controls (CSI and
# OSC in one character), the bidirectional controls that reorder what follows ("Trojan Source"),
# and the line and paragraph separators some terminals and tools break lines at.
TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Connection:
    """The socket, owned by one I/O thread (``run``); other threads only queue bytes with ``send``.

    One owner matters for TLS: an ``SSLSocket`` must not be read and written from two threads.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = threading.Event()  # the server closed the connection (or it broke)
        self.quit_sent = False
        self.last_sent = time.monotonic()
        self._outgoing = bytearray()
        self._lock = threading.Lock()
        self._wakeup_reader, self._wakeup_writer = socket.socketpair()
        for end in (sock, self._wakeup_reader, self._wakeup_writer):
            end.setblocking(False)

    def send(self, data: bytes) -> bool:
        """Queue bytes for the server (a LF is added if missing); False if the connection is gone."""
        if self.closed.is_set():
            return False
        if not data.endswith(b"\n"):
            data += b"\n"
        words = data.split(None, 1)
        if words and words[0].upper() in (b"QUIT", b"EXIT"):
            self.quit_sent = True
        with self._lock:
            self._outgoing += data
        self.last_sent = time.monotonic()
        with contextlib.suppress(OSError):  # full (the I/O thread has wake-ups pending anyway) or closed
            self._wakeup_writer.send(b"\0")
        return True

    def run(self, on_line: Callable[[bytes], None]) -> None:
        """The I/O thread: send what is queued, call ``on_line`` for each line (LF included) the
        server sends, until it closes the connection; then set ``closed``."""
        selector = selectors.DefaultSelector()
        selector.register(self._wakeup_reader, selectors.EVENT_READ)
        selector.register(self.sock, selectors.EVENT_READ)
        partial = b""
        try:
            while True:
                self._send_queued()
                try:
                    chunk = self.sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                    with self._lock:
                        writing = bool(self._outgoing)
                    selector.modify(self.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0))
                    for key, _ in selector.select():
                        if key.fileobj is self._wakeup_reader:
                            self._wakeup_reader.recv(4096)
                    continue
                if not chunk:
                    break
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    on_line(line + b"\n")
        except OSError:
            pass
        finally:
            if partial:
                on_line(partial)
            selector.close()
            self.closed.set()

    def _send_queued(self) -> None:
        with self._lock:
            if not self._outgoing:
                return
            try:
                sent = self.sock.send(self._outgoing)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                return
            del self._outgoing[:sent]

    def quit_and_wait(self) -> None:
        if not self.quit_sent:
            self.send(b"QUIT\n")
        self.closed.wait(QUIT_WAIT_SECONDS)

    def close(self) -> None:
        for end in (self.sock, self._wakeup_reader, self._wakeup_writer):
            end.close()


def for_terminal(line: bytes) -> str:
    """A server line as a terminal may show it: its LF (or CR LF) removed, invalid UTF-8 and every
    character a terminal would act on (``TERMINAL_CONTROLS``) replaced by U+FFFD.

    U+FFFD rather than caret notation (``^[``): it is what invalid UTF-8 already becomes, so one
    sign means "not shown", it is never mistaken for text someone typed, and it stands as well for
    C1 and bidirectional controls, which have no caret form.
    """
    return TERMINAL_CONTROLS.sub("\ufffd", line.decode("utf-8", "replace").rstrip("\r\n"))


# --- scripted mode ------------------------------------------------------------------------------
def run_scripted(connection: Connection) -> int:
    out = sys.stdout.buffer
    finished = threading.Event()  # end of input, or the server closed the connection

    def print_raw(line: bytes) -> None:
        out.write(line)
        out.flush()

    def print_for_terminal(line: bytes) -> None:
        sys.stdout.write(for_terminal(line) + ("\n" if line.endswith(b"\n") else ""))
        sys.stdout.flush()

    def receive() -> None:
        connection.run(print_for_terminal if sys.stdout.isatty() else print_raw)
        finished.set()

    def send_input() -> None:
        for line in input_lines(sys.stdin.fileno()):
            if not connection.send(line) or connection.quit_sent:
                break
        finished.set()

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    threading.Thread(target=send_input, daemon=True).start()
    finished.wait()
    if connection.closed.is_set() and not connection.quit_sent:
        print(f"{PROG}: the server closed the connection", file=sys.stderr)
        return 1
    connection.quit_and_wait()
    receiver.join(QUIT_WAIT_SECONDS)
    return 0


def input_lines(fd: int) -> Iterator[bytes]:
    """Lines read straight from a file descriptor: no buffered-reader lock for exit to trip over."""
    pending = b""
    while chunk := os.read(fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from (line + b"\n" for line in lines)
    if pending:
        yield pending


# --- interactive mode ---------------------------------------------------------------------------
class Screen:
    """Writes server lines above the prompt without garbling what the user is typing."""

    def __init__(self, colour: bool, current_input: Callable[[], str]) -> None:
        self.colour = colour
        self.current_input = current_input
        self.prompting = False  # True while the prompt is on screen and the user can type
        self.in_readline_hooks = False  # readline is running our hooks: see prompt_interrupter
        self.editing: Callable[[], bool] = lambda: True  # False once the line editor has let go
        self.shown_a_line = threading.Event()
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
        self.shown_a_line.set()


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


def run_interactive(connection: Connection, logging_in: bool) -> int:
    if readline is not None:
        current_input: Callable[[], str] = readline.get_line_buffer
        read_line: Callable[[str], str] = input
        load_history()
    elif sys.platform == "win32":
        editor = WindowsLineEditor()
        current_input, read_line = (lambda: editor.buffer), editor.input
    else:
        current_input, read_line = (lambda: ""), input
    screen = Screen(use_colour(), current_input)
    readline_draws_prompt = readline is not None and track_readline_prompt(screen)
    at_prompt = threading.Event()  # Ctrl+C (or the receiver's wake-up) interrupts only the prompt
    wake_prompt = prompt_interrupter(at_prompt, screen)

    def receive() -> None:
        leave_interrupts_to_the_main_thread()
        connection.run(screen.show)
        if not connection.quit_sent:
            wake_prompt()  # the server went away: leave the prompt

    threading.Thread(target=receive, daemon=True).start()
    threading.Thread(target=keep_alive, args=(connection, screen), daemon=True).start()
    if logging_in:  # show the answer to --user before the first prompt
        screen.shown_a_line.wait(QUIT_WAIT_SECONDS)
    try:
        at_prompt.set()
        while not connection.closed.is_set() and not connection.quit_sent:
            if not readline_draws_prompt:
                screen.prompting = True
            line = read_line(PROMPT)
            screen.prompting = False
            words = line.split(None, 1)
            if words and words[0].upper() == "PING":
                screen.hidden_pongs.append(False)  # the user's own PING: its PONG is shown
            if not connection.send(line.encode("utf-8", "replace")):
                break
    except (EOFError, KeyboardInterrupt):  # Ctrl+D (Ctrl+Z on Windows), Ctrl+C, or the wake-up
        pass
    finally:
        at_prompt.clear()
        screen.prompting = False
        save_history()
    if connection.closed.is_set() and not connection.quit_sent:
        sys.stdout.write("\r\x1b[K")
        sys.stdout.flush()
        print(f"{PROG}: the server closed the connection", file=sys.stderr)
        return 1
    if not connection.quit_sent:
        sys.stdout.write("\n")
    connection.quit_and_wait()
    return 0


def track_readline_prompt(screen: Screen) -> bool:
    """Redraw the prompt only while GNU readline really shows it; False where that cannot be known.

    readline draws the prompt between its startup and pre-input hooks, so the screen's lock is held
    across them: a server line lands either before the prompt exists (no redraw; readline draws it)
    or after (redraw).  Once a line is entered, readline gives the terminal back to canonical mode
    before it returns, which ``editing`` sees, so a line arriving then is not followed by a stray
    prompt either.
    """
    assert readline is not None
    if "libedit" in (readline.__doc__ or "") or not hasattr(readline, "set_pre_input_hook"):
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


def keep_alive(connection: Connection, screen: Screen) -> None:
    leave_interrupts_to_the_main_thread()
    while not connection.closed.wait(1.0):
        if time.monotonic() - connection.last_sent >= KEEPALIVE_SECONDS and not connection.quit_sent:
            screen.hidden_pongs.append(True)
            connection.send(b"PING\n")


def leave_interrupts_to_the_main_thread() -> None:
    """Block SIGINT in this helper thread, so Ctrl+C always wakes the main thread's prompt."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def prompt_interrupter(at_prompt: threading.Event, screen: Screen) -> Callable[[], None]:
    """Make Ctrl+C raise KeyboardInterrupt only at the prompt; return a way to do that from a thread."""
    if not hasattr(signal, "pthread_kill"):
        # Windows: the editor blocks in getwch(), which nothing interrupts; leave at once.
        def leave() -> None:
            print(f"\n{PROG}: the server closed the connection", file=sys.stderr)
            os._exit(1)

        return leave

    main_thread = threading.main_thread().ident
    assert main_thread is not None  # the main thread has started: we are running in it
    handled = threading.Event()

    def on_interrupt(_signum: int, _frame: object) -> None:
        if at_prompt.is_set() and screen.in_readline_hooks:
            # readline swallows exceptions raised in its hooks: a KeyboardInterrupt raised now
            # would be lost.  Not marked handled, so the thread below sends it again shortly.
            return
        handled.set()
        if at_prompt.is_set():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)
    # CPython's readline checks for signals only when its select() is interrupted; a SIGINT that
    # lands while it is busy with a key would wait for the next key, and one handled while it runs
    # our hooks (as the prompt is drawn) is lost.  The wake-up fd hears every signal at once: if
    # the handler has not taken it shortly after, send it again to the main thread.
    wakeups, wakeup_writer = socket.socketpair()
    wakeup_writer.setblocking(False)
    signal.set_wakeup_fd(wakeup_writer.fileno(), warn_on_full_buffer=False)

    def resend_missed_interrupts(wakeups: socket.socket, _writer_kept_open: socket.socket) -> None:
        leave_interrupts_to_the_main_thread()
        while received := wakeups.recv(64):  # one byte per signal: SIGINT, SIGWINCH, ...
            if signal.SIGINT in received:
                if not handled.wait(0.2):
                    signal.pthread_kill(main_thread, signal.SIGINT)
                handled.clear()

    threading.Thread(target=resend_missed_interrupts, args=(wakeups, wakeup_writer), daemon=True).start()
    return lambda: signal.pthread_kill(main_thread, signal.SIGINT)


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


def save_history() -> None:
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY_FILE)


# --- start --------------------------------------------------------------------------------------
def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description="Terminal client for algokart-chat.")
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST") or "127.0.0.1",
        help="server address, IPv6 with or without brackets ([::1]) [env HOST, default 127.0.0.1]",
    )
    parser.add_argument("--port", type=int, default=None, help="server port [env PORT, default 4000]")
    parser.add_argument("--user", metavar="NAME", help="send LOGIN NAME on connect")
    parser.add_argument("--tls", action="store_true", help="connect with TLS (to the server's --tls-port)")
    parser.add_argument("--cafile", metavar="FILE", help="with --tls: trust this CA or self-signed certificate")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="with --tls: do not verify the server's certificate (self-signed test setups)",
    )
    parser.add_argument("--version", action="version", version=f"algokart-chat terminal client {__version__}")
    arguments = parser.parse_args(argv)
    if arguments.host.startswith("[") and arguments.host.endswith("]"):  # [::1], as in a URL
        arguments.host = arguments.host[1:-1]
    if arguments.port is None:
        environment_port = os.environ.get("PORT") or "4000"
        if not environment_port.isdigit():
            parser.error(f"invalid PORT value {environment_port!r}")
        arguments.port = int(environment_port)
    if not 0 < arguments.port < 65536:
        parser.error(f"port {arguments.port} is out of range 1-65535")
    if (arguments.cafile or arguments.insecure) and not arguments.tls:
        parser.error("--cafile and --insecure go with --tls")
    return arguments


def connect(arguments: argparse.Namespace) -> socket.socket:
    """A connected socket, TLS-wrapped and verified when asked; OSError (ssl.SSLError too) if not."""
    sock = socket.create_connection((arguments.host, arguments.port), timeout=10)
    if arguments.tls:
        context = ssl.create_default_context(cafile=arguments.cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if arguments.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            sock = context.wrap_socket(sock, server_hostname=arguments.host)
        except OSError:
            sock.close()
            raise
    sock.settimeout(None)
    return sock


def host_and_port(host: str, port: int) -> str:
    """``127.0.0.1:4000``, ``[::1]:4000``: an IPv6 address in brackets, so the port stands apart."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connection_problem(problem: OSError) -> str:
    if isinstance(problem, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({problem.verify_message}); see --cafile, or --insecure for tests"
    if isinstance(problem, ssl.SSLError):
        return f"TLS handshake failed ({problem.reason or problem})"
    if isinstance(problem, socket.timeout):
        return "timed out"
    return problem.strerror or str(problem) or type(problem).__name__


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.insecure:
        print(f"{PROG}: warning: --insecure: the server's certificate is not verified", file=sys.stderr)
    try:
        sock = connect(arguments)
    except OSError as problem:
        print(
            f"{PROG}: cannot connect to {host_and_port(arguments.host, arguments.port)}: {connection_problem(problem)}",
            file=sys.stderr,
        )
        return 1
    if sys.stdout.isatty() and isinstance(sys.stdout, io.TextIOWrapper):
        # A character the terminal's encoding lacks is shown as "?" rather than ending the client,
        # and text goes out in that encoding: UTF-8 bytes on a Latin-1 terminal could be C1 controls.
        sys.stdout.reconfigure(errors="replace")
    connection = Connection(sock)
    try:
        if arguments.user:
            connection.send(f"LOGIN {arguments.user}\n".encode())
        if sys.stdin.isatty():
            return run_interactive(connection, logging_in=bool(arguments.user))
        return run_scripted(connection)
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
