"""moto's server for the local stack, bound in the caller's thread.

moto's ``ThreadedMotoServer`` binds its socket in its own thread, and its ``start()`` waits for an
event only a successful bind sets; werkzeug answers a failed bind with ``sys.exit(1)`` in that
thread. On a port taken since the stack checked it, ``start()`` would wait forever. Here the socket
is bound first, by ``start()`` itself, so a busy ``--aws-port`` is an OSError from ``start()`` like
the stack's other servers', and werkzeug serves that socket.
"""

from __future__ import annotations

import socket
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

LISTEN_BACKLOG = 128  # werkzeug's own


class MotoServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port  # 0: any free port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listening = socket.create_server((self.host, self.port), backlog=LISTEN_BACKLOG)  # OSError if taken
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler, fd=listening.fileno()
            )
        finally:
            listening.close()  # werkzeug serves a duplicate of it
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return str(host), port

    def close(self) -> None:
        """Stop serving and release the port; nothing to do if it never started (or is closed)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join()
        server.server_close()
