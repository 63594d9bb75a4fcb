"""The local stack's threading HTTP servers (both simulators, the console): closed with nothing left
running.

``block_on_close`` makes ``server_close`` join every request thread; open connections are shut down
first so that no thread is left waiting on a slow or idle client.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ClosingHTTPServer(ThreadingHTTPServer):
    # Non-daemon request threads are the ones socketserver tracks and joins in server_close().
    daemon_threads = False
    block_on_close = True

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self._conn_lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        super().__init__(("127.0.0.1", port), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
        self.connections_shut()
        super().server_close()

    def connections_shut(self) -> None:
        """Called once every open connection is shut down, before the request threads are joined."""
