"""TLS between dm-master, dm-worker, dmctl and the masters' etcd (DM §13.2): the
`ssl-ca`, `ssl-cert`, `ssl-key` and `cert-allowed-cn` of the master and worker configs and
of dmctl's flags.

With `ssl-ca` set, every link is mutual TLS: servers ask for a client certificate signed
by that CA and refuse a connection without one (a plain connection fails its handshake);
clients check the server's certificate against the CA and the host they dialled. With
`cert-allowed-cn`, a server also refuses a client whose certificate's common name is not
in the list (403), and etcd refuses such a peer.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # aiohttp and cryptography load where they serve: not in dmctl
    import aiohttp
    from aiohttp import web
    from aiohttp.typedefs import Middleware

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ClusterTLS:
    ca: str = ""
    cert: str = ""
    key: str = ""
    allowed_cn: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.ca)

    def problem(self) -> str | None:
        """What is wrong with the keys (all three or none; readable files that load)."""
        given = (("ssl-ca", self.ca), ("ssl-cert", self.cert), ("ssl-key", self.key))
        if not any(value for _, value in given):
            return "cert-allowed-cn needs ssl-ca, ssl-cert and ssl-key" if \
                self.allowed_cn else None
        missing = [key for key, value in given if not value]
        if missing:
            return f"{', '.join(missing)} must be set with the other ssl-* keys"
        for key, value in given:
            if not Path(value).is_file():
                return f"{key}: {value} is not a readable file"
        try:
            self.server_context()
            self.client_context()
        except (ssl.SSLError, OSError) as exc:
            return f"ssl-ca/ssl-cert/ssl-key do not load: {exc}"
        return None

    @property
    def scheme(self) -> str:
        return "https" if self.enabled else "http"

    def url(self, address: str, path: str = "") -> str:
        """`address` (host:port) as a URL of this cluster's scheme."""
        return f"{self.scheme}://{address}{path}"

    def server_context(self) -> ssl.SSLContext | None:
        if not self.enabled:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca)
        context.load_cert_chain(self.cert, self.key)
        context.verify_mode = ssl.CERT_REQUIRED  # a client without a certificate: refused
        return context

    def client_context(self) -> ssl.SSLContext | None:
        if not self.enabled:
            return None
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca)
        if self.cert:
            context.load_cert_chain(self.cert, self.key)
        return context

    def middleware(self) -> Middleware:
        """An aiohttp middleware refusing clients `cert-allowed-cn` does not name."""
        from aiohttp import web

        allowed = self.allowed_cn

        @web.middleware
        async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
            if allowed:
                names = peer_common_names(request)
                if not any(n in allowed for n in names):
                    raise web.HTTPForbidden(text=f"client certificate common name {names} "
                                                 f"is not one of cert-allowed-cn {list(allowed)}")
            return await handler(request)
        return check

    def etcd_args(self) -> list[str]:
        """etcd's flags for TLS on its client and peer URLs."""
        if not self.enabled:
            return []
        files = ["--cert-file", self.cert, "--key-file", self.key, "--trusted-ca-file",
                 self.ca, "--client-cert-auth"]
        peers = ["--peer-cert-file", self.cert, "--peer-key-file", self.key,
                 "--peer-trusted-ca-file", self.ca, "--peer-client-cert-auth"]
        cn = ["--peer-cert-allowed-cn", self.allowed_cn[0]] if self.allowed_cn else []
        return files + peers + cn


def peer_common_names(request: web.Request) -> list[str]:
    from dm.dbtls import common_names

    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return common_names(der) if der else []


def with_scheme(urls: str, tls: ClusterTLS) -> str:
    """etcd URLs (or `name=url` pairs) turned to https when TLS is on (DM: `peer-urls`
    becomes https when `ssl-ca` is set)."""
    if not tls.enabled:
        return urls
    return ",".join(u.replace("http://", "https://", 1) for u in urls.split(","))


# The process's own cluster TLS: set once at start by dm-master and dm-worker, read by
# every client they open (HTTP to masters and workers, gRPC to etcd); its client context
# loaded once, not at every call.
_process = ClusterTLS()
_client: ssl.SSLContext | None = None


def configure(tls: ClusterTLS) -> None:
    global _process, _client
    _process, _client = tls, tls.client_context()


def current() -> ClusterTLS:
    return _process


def session(timeout: float) -> aiohttp.ClientSession:
    """An HTTP client session to masters and workers, over TLS when the cluster's is on."""
    import aiohttp

    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                 connector=aiohttp.TCPConnector(ssl=_client)
                                 if _client is not None else None)


def url(address: str, path: str = "") -> str:
    """A master's or worker's `address` (host:port) and `path` as a URL."""
    return _process.url(address, path)
