"""docker-py's unix-socket transport, patched to close its socket when connect fails.

docker-py's unix connection leaves its socket open when connect fails (an engine that
died mid-run); these classes close it, so a lost engine costs no ResourceWarning per call.
"""

from __future__ import annotations

import socket
from typing import Any, cast

from docker.transport.unixconn import UnixHTTPAdapter, UnixHTTPConnection, UnixHTTPConnectionPool


class ClosingUnixConnection(UnixHTTPConnection):
    """docker-py's unix connection leaves its socket open when connect fails (an engine
    that died mid-run): close it, so a lost engine costs no ResourceWarning per call."""

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_socket)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class ClosingUnixPool(UnixHTTPConnectionPool):
    def _new_conn(self) -> Any:  # urllib3's declared type is a protocol docker-py's class does not name
        # docker-py sets timeout to the client's number of seconds
        return ClosingUnixConnection(self.base_url, self.socket_path, cast("int", self.timeout))


class ClosingUnixAdapter(UnixHTTPAdapter):
    def get_connection(self, url: str | bytes, proxies: Any = None) -> ClosingUnixPool:
        with self.pools.lock:
            pool = self.pools.get(url)
            if pool is None:
                pool = ClosingUnixPool(str(url), self.socket_path, self.timeout, maxsize=self.max_pool_size)
                self.pools[url] = pool
        return pool
