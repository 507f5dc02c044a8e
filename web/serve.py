"""Serving the app with waitress, set for a shared office network: ``serve(app, host, port)``.

waitress's defaults let about 100 slow or idle sockets lock everyone out: at most 100 connections
(``connection_limit``), and an idle one is closed only after 120 s (``channel_timeout``), checked every
30 s (``cleanup_interval``). A socket costs waitress no thread until its request is complete, so many
more can be held cheaply: kb allows ``CONNECTION_LIMIT`` connections (raising the process's open-file
limit to fit), closes one idle for ``CHANNEL_TIMEOUT`` seconds, checks every ``CLEANUP_INTERVAL``, and
polls with ``poll()`` (``select()`` stops at 1,024 sockets). Request headers are capped at 64 KiB.

waitress answers some malformed requests itself (400, 413, 431) without asking the app; those
responses get the app's security headers too (:class:`SecureErrorTask`).
"""

from __future__ import annotations

import resource
from typing import Any

CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 20  # seconds a connection may stay idle (no byte received or sent)
CLEANUP_INTERVAL = 5  # seconds between checks for idle connections
MAX_HEADER_BYTES = 64 * 1024


def waitress_settings(threads: int = 8) -> dict[str, Any]:
    """The keyword arguments kb passes to ``waitress.serve`` (documented in the README)."""
    return {
        "threads": threads, "ident": "kb", "clear_untrusted_proxy_headers": True,
        "max_request_body_size": 1 << 20, "max_request_header_size": MAX_HEADER_BYTES,
        "connection_limit": CONNECTION_LIMIT, "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL, "asyncore_use_poll": True, "backlog": 2048,
    }


def _secure_error_tasks() -> None:
    """Add the app's security headers to the error responses waitress writes on its own."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    from web import SECURITY_HEADERS

    if getattr(HTTPChannel.error_task_class, "_kb_secure", False):
        return

    class SecureErrorTask(ErrorTask):
        _kb_secure = True

        def execute(self) -> None:  # ErrorTask.execute, with the headers added before the first write
            status, headers, body = self.request.error.to_response(self.channel.server.adj.ident)
            self.status = status
            self.response_headers.extend(headers)
            self.response_headers.extend(SECURITY_HEADERS.items())
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    HTTPChannel.error_task_class = SecureErrorTask


def _raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def serve(app: Any, host: str, port: int, threads: int = 8) -> None:
    """Serve ``app`` on ``host:port`` until interrupted."""
    import waitress

    _secure_error_tasks()
    _raise_file_limit(CONNECTION_LIMIT + 200)  # sockets, plus the index files a version holds open
    waitress.serve(app, host=host, port=port, **waitress_settings(threads))
