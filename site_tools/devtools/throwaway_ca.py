"""A certificate authority that lives for one run, and a static site served over HTTP or HTTPS with it.

Used by ``scripts/agid-check`` to run AGID's checker over HTTPS on this machine: the CA signs a leaf for
``127.0.0.1`` and ``localhost``; Chromium trusts the CA through an NSS database in a temporary HOME
(:func:`trust_in_nss`), Node through ``NODE_EXTRA_CA_CERTS``. Nothing here is kept after the run: the keys
live in a temporary folder and are never written to the repository.
"""

from __future__ import annotations

import datetime
import functools
import http.server
import ipaddress
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The names the leaf certificate is valid for: the local server, by address and by name.
LEAF_HOSTS = ("127.0.0.1", "localhost")
#: How long both certificates are valid: a run takes minutes; a day leaves room for a clock off by hours.
VALIDITY = datetime.timedelta(days=1)
#: The CA's nickname in the NSS database.
NSS_NICKNAME = "site-tools throwaway CA"


@dataclass(frozen=True)
class CaFiles:
    ca_cert: Path  # PEM: what the clients trust
    leaf_cert: Path  # PEM: the server's certificate followed by the CA's (the chain it presents)
    leaf_key: Path  # PEM, unencrypted: the server's key

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.leaf_cert, self.leaf_key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(folder: Path, now: datetime.datetime | None = None) -> CaFiles:
    """Write a fresh CA and a leaf for :data:`LEAF_HOSTS` it signed into ``folder``."""
    now = now or datetime.datetime.now(datetime.UTC)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("site-tools throwaway CA (one run of scripts/agid-check)")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in LEAF_HOSTS:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(LEAF_HOSTS[0]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = CaFiles(folder / "ca.pem", folder / "leaf.pem", folder / "leaf-key.pem")
    files.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    files.leaf_cert.write_bytes(leaf_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    files.leaf_key.touch(mode=0o600)
    files.leaf_key.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def trust_in_nss(home: Path, ca_cert: Path) -> Path:
    """Make Chromium started with ``HOME=home`` trust ``ca_cert``: a new NSS database in ``home/.pki/nssdb``."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise RuntimeError("certutil is missing: apt-get install libnss3-tools")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    database = f"sql:{nssdb}"
    subprocess.run([certutil, "-N", "-d", database, "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        [certutil, "-A", "-d", database, "-t", "C,,", "-n", NSS_NICKNAME, "-i", str(ca_cert)],
        check=True,
        capture_output=True,
    )
    return nssdb


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(directory: Path, context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``directory`` at the root of a new origin on a free port; yield its URL (with a trailing ``/``)."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    scheme = "http"
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, name=f"serve-{scheme}", daemon=True)
    thread.start()
    try:
        yield f"{scheme}://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
