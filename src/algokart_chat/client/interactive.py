"""Interactive mode (stdin is a terminal): a ``> `` prompt with line editing and history, and what
the server sends shown as it arrives, each line on its own row above the prompt, the half-typed
line redrawn intact (``terminal``).

Three threads: the main one reads what the user types and sends it; the connection's I/O thread
shows what arrives (through ``catchup``: history on login, ids taken off live lines) and, when the
connection drops for any reason but QUIT, a kick or a ban, reconnects with backoff (1 s, doubled up
to 30 s; a ``-- connection lost`` line says so), logs in again and shows what was missed; a
keep-alive thread sends a hidden PING after KEEPALIVE_SECONDS of silence (its PONG is not shown),
which keeps a reader from an idle timeout (off by default on the server) and NATs.  Ctrl+C
interrupts only the prompt, on the main thread.  QUIT, EXIT, Ctrl+D and Ctrl+C leave with status
0; a connection lost for good (Ctrl+C while reconnecting, a kick, a ban, a login refused after a
reconnection) is one line on stderr and status 1.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

from algokart_chat.client.catchup import RETRY_LOGIN_ERRORS, Catchup
from algokart_chat.client.connection import QUIT_WAIT_SECONDS, Connection, connection_problem
from algokart_chat.client.terminal import (
    PROG,
    PROMPT,
    Screen,
    forget_last_line,
    line_editor,
    save_history,
    track_readline_prompt,
    use_colour,
)

KEEPALIVE_SECONDS = 25.0  # inside any idle timeout a server is run with, and NATs' quiet-flow limits
RECONNECT_FIRST_SECONDS = 1.0  # the first wait after a drop; doubled each try ...
RECONNECT_MOST_SECONDS = 30.0  # ... up to this


class Link:
    """The connection in use, replaced after a drop; ``finished`` once the client stops."""

    __slots__ = ("connection", "finished", "stopping")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.finished = threading.Event()  # QUIT sent, or the connection lost for good
        self.stopping = threading.Event()  # the user left: stop reconnecting


def run_interactive(connection: Connection, user: str | None, reconnect: Callable[[], Connection] | None = None) -> int:
    """Prompt, send what the user types, show what the server sends, until QUIT, EXIT, Ctrl+D or
    Ctrl+C (status 0) or until the server is gone for good (status 1).  After a drop other than
    QUIT (or a kick or ban), ``reconnect`` makes a new connection, with backoff, and ``catchup``
    logs in again and shows what was missed."""
    current_input, read_line = line_editor()
    screen = Screen(use_colour(), current_input)
    readline_draws_prompt = track_readline_prompt(screen)
    at_prompt = threading.Event()  # Ctrl+C (or the receiver's wake-up) interrupts only the prompt
    wake_prompt = prompt_interrupter(at_prompt, screen)
    catchup = Catchup()
    link = Link(connection)

    greeted = threading.Event()  # the login (and the history shown after it) answered

    def on_line(raw: bytes) -> None:
        shown, replies = catchup.received(raw)
        for line in shown:
            screen.show(line)
        for reply in replies:
            link.connection.send(reply)
        if catchup.settled:
            greeted.set()

    def receive() -> None:
        leave_interrupts_to_the_main_thread()
        current = link.connection
        while True:
            current.run(on_line)
            if current.quit_sent or link.stopping.is_set() or catchup.stay_away or reconnect is None:
                break
            if catchup.login_failed and catchup.login_failed not in RETRY_LOGIN_ERRORS:
                screen.show(b"-- not reconnecting: the login was refused")
                break
            replacement = reconnect_with_backoff(reconnect, screen, link.stopping)
            if replacement is None:
                break
            screen.hidden_pongs.clear()
            current.close()
            link.connection = current = replacement
            for line in catchup.on_connection():
                current.send(line)
        link.finished.set()
        greeted.set()
        wake_prompt()  # the server went away for good (or QUIT was said): leave the prompt

    for opening in catchup.connected():  # (before any LOGIN: every live line after it has its id)
        connection.send(opening)
    if user:
        catchup.sent(f"LOGIN {user}".encode())
        connection.send(f"LOGIN {user}\n".encode())
    threading.Thread(target=receive, daemon=True).start()
    threading.Thread(target=keep_alive, args=(link, screen), daemon=True).start()
    if user:  # show the answer to --user, and the last messages after it, before the first prompt
        greeted.wait(QUIT_WAIT_SECONDS)
    try:
        at_prompt.set()
        while not link.finished.is_set() and not link.connection.quit_sent:
            if not readline_draws_prompt:
                screen.prompting = True
            line = read_line(PROMPT)
            screen.prompting = False
            words = line.split(None, 1)
            if words and words[0].upper() == "PING":
                screen.hidden_pongs.append(False)  # the user's own PING: its PONG is shown
            if words and words[0].upper() == "LOGIN" and len(line.split(None, 2)) > 2:
                forget_last_line()  # LOGIN <name> <password>: never into the history file
            data = line.encode("utf-8", "replace")
            catchup.sent(data)
            if not link.connection.send(data):
                if link.finished.is_set():
                    break
                screen.show(b"-- not connected: that line was not sent (Ctrl+C leaves)")
    except (EOFError, KeyboardInterrupt):  # Ctrl+D (Ctrl+Z on Windows), Ctrl+C, or the wake-up
        pass
    finally:
        at_prompt.clear()
        screen.prompting = False
        link.stopping.set()
        save_history()
    connection = link.connection
    if connection.closed.is_set() and not connection.quit_sent:
        sys.stdout.write("\r\x1b[K")
        sys.stdout.flush()
        print(f"{PROG}: the server closed the connection", file=sys.stderr)
        return 1
    if not connection.quit_sent:
        sys.stdout.write("\n")
    connection.quit_and_wait()
    return 0


def reconnect_with_backoff(
    reconnect: Callable[[], Connection], screen: Screen, stopping: threading.Event
) -> Connection | None:
    """A new connection, tried after RECONNECT_FIRST_SECONDS, then twice as long each time up to
    RECONNECT_MOST_SECONDS (with a little jitter, so a crowd does not come back at once); None
    once ``stopping`` is set (Ctrl+C)."""
    delay = RECONNECT_FIRST_SECONDS
    while True:
        screen.show(f"-- connection lost: reconnecting in {delay:g} s (Ctrl+C leaves)".encode())
        if stopping.wait(delay * random.uniform(0.8, 1.0)):
            return None
        try:
            return reconnect()
        except OSError as problem:
            screen.show(f"-- cannot reconnect: {connection_problem(problem)}".encode())
        delay = min(delay * 2, RECONNECT_MOST_SECONDS)


def keep_alive(link: Link, screen: Screen) -> None:
    leave_interrupts_to_the_main_thread()
    while not link.finished.wait(1.0):
        connection = link.connection
        if (
            not connection.closed.is_set()
            and time.monotonic() - connection.last_sent >= KEEPALIVE_SECONDS
            and not connection.quit_sent
        ):
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
