"""TLS to the databases beyond file paths: DM's inline `ssl-*-bytes` material and its
`cert-allowed-cn` check of the server's certificate.

PyMySQL and the ssl module read certificates and keys from files only, so inline
material is written once to a file named by its hash, in a directory only this user can
read (mode 0700, files 0600), and the paths go where `ssl-ca`/`ssl-cert`/`ssl-key` would.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

_DIR = Path(tempfile.gettempdir()) / f"pydm-tls-{os.getuid()}"


def pem_file(content: str) -> str:
    """The path of a private file holding `content` (written once)."""
    _DIR.mkdir(mode=0o700, exist_ok=True)
    os.chmod(_DIR, 0o700)
    path = _DIR / hashlib.sha256(content.encode()).hexdigest()
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(content)
        os.replace(tmp, path)
    return str(path)


def peer_cn_problem(conn: Any, allowed: tuple[str, ...]) -> str | None:
    """Why the server a PyMySQL connection reached is not one `cert-allowed-cn` allows
    (its certificate's common name is not in the list), or None."""
    if not allowed:
        return None
    sock = getattr(conn, "_sock", None)
    der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    if not der:
        return "the connection is not TLS, or the server showed no certificate"
    names = common_names(der)
    if any(n in allowed for n in names):
        return None
    return f"the server's certificate names {names or 'no common name'}, not one of {list(allowed)}"


def common_names(der: bytes) -> list[str]:
    """The subject common names of a DER certificate."""
    return [str(a.value) for a in x509.load_der_x509_certificate(der).subject
            .get_attributes_for_oid(NameOID.COMMON_NAME)]
