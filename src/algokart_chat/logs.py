"""Log output an operator can use: time and level on every line, or one JSON object per line.

Text (the default)::

    2026-11-24T10:15:02Z INFO  Login: alice from 127.0.0.1:52341

JSON (``--log-format json``), for log shippers: ``time``, ``level``, ``event``, ``message`` and
the record's fields (``peer``, ``user``, ``reason``, counts ...).  A log call names its event and
fields through ``fields(event, **values)`` as the ``extra`` argument.

Plan: the event loop never waits on log output.  Records go into a bounded queue
(``logging.handlers.QueueHandler``) and one writer thread writes them to the output's file
descriptor.  A stdout nobody reads (a stuck log shipper) then blocks only that thread; once the
queue is full, records are dropped and counted, and the count is logged when the output moves
again.  ``LogPipeline.stop(deadline)`` gives the writer a deadline at exit and reports whether it
finished, so the caller can exit without waiting on a pipe that never drains.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import queue
import threading
import time
from typing import IO, Any

QUEUE_SIZE = 10_000  # records; about what a busy minute logs, so a hiccup loses nothing


def fields(event: str, **values: object) -> dict[str, object]:
    """The ``extra`` of a log call: its event name and fields (``peer=..., user=...``)."""
    return {"event": event, "fields": values}


def counted(count: int, noun: str) -> str:
    """``1 connection``, ``2 connections``: a count and its noun, for log messages."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_peer(peer: tuple[str, int] | None) -> str:
    """``127.0.0.1:5000``, ``[::1]:5000``; ``-`` when the peer is unknown."""
    if peer is None:
        return "-"
    host, port = peer
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def utc_timestamp(created: float, decimals: bool = False) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z" if decimals else f"{seconds}Z"


class TextFormatter(logging.Formatter):
    """``2026-11-24T10:15:02Z INFO  message``: UTC time, level padded to five."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{utc_timestamp(record.created)} {record.levelname:<5} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": utc_timestamp(record.created, decimals=True),
            "level": record.levelname,
            "event": getattr(record, "event", record.name),  # (another library's record: its logger)
            "message": record.getMessage(),
        }
        record_fields = getattr(record, "fields", None)
        if isinstance(record_fields, dict):
            document.update(record_fields)
        if record.exc_info:
            document["traceback"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Never blocks: a record that finds the queue full is counted and dropped."""

    def __init__(self, records: queue.Queue[logging.LogRecord | None]) -> None:
        super().__init__(records)
        self.dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


class LogPipeline:
    """Root logging through a queue to a writer thread; see the module docstring."""

    def __init__(self, level: int, json_format: bool, stream: IO[str]) -> None:
        self._records: queue.Queue[logging.LogRecord | None] = queue.Queue(QUEUE_SIZE)
        self._formatter = JsonFormatter() if json_format else TextFormatter()
        self._fd = stream.fileno()
        self._handler = _DroppingQueueHandler(self._records)
        self._writer = threading.Thread(target=self._write_all, name="log-writer", daemon=True)
        root = logging.getLogger()
        root.handlers[:] = [self._handler]
        root.setLevel(level)
        if not os.environ.get("PYTHONASYNCIODEBUG"):
            # asyncio's own debug chatter (which selector it chose) is not for operators.
            logging.getLogger("asyncio").setLevel(max(level, logging.INFO))
        self._writer.start()

    def _write_all(self) -> None:
        reported = 0
        while (record := self._records.get()) is not None:
            lines = [self._formatter.format(record)]
            dropped = self._handler.dropped
            if dropped > reported:
                lines.append(self._formatter.format(_dropped_record(dropped - reported)))
                reported = dropped
            data = ("\n".join(lines) + "\n").encode("utf-8", "replace")
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:  # the reader went away: nothing more can be shown
                return

    def stop(self, deadline: float) -> bool:
        """Write what is queued within ``deadline`` seconds; False if the output is stuck."""
        logging.getLogger().removeHandler(self._handler)
        try:
            self._records.put(None, timeout=deadline)
        except queue.Full:
            return False
        self._writer.join(deadline)
        return not self._writer.is_alive()


def _dropped_record(count: int) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": "chat.log",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": f"Log output was stuck: {count} log lines were dropped",
            "event": "log-dropped",
            "fields": {"count": count},
        }
    )
