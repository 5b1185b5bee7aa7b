"""The server's TLS context: the ``ssl`` module's secure defaults, TLS 1.2 or newer only.

Every way the certificate or key can be unusable (missing, unreadable, not PEM, a key that does not
match the certificate) becomes ``TLSSetupError`` with one line that names the file, so the server
can exit with that line instead of a traceback.

``Certificate`` is what the TLS listeners hold: the context for the *next* connection.  Its
``reload`` (on SIGHUP, after a renewal) builds a whole new context from the files and swaps it in
only if that succeeds; a connection already open keeps the context it was accepted with, so nobody
is dropped, and a bad new pair leaves the old one serving.  (Loading into the live context instead
could leave it with the new certificate and the old key when the key is the bad half.)
"""

from __future__ import annotations

import ssl


class TLSSetupError(Exception):
    """The certificate or key cannot be used; the message is one line for the user."""


class Certificate:
    """The certificate and key files, and the context made from them for new connections."""

    __slots__ = ("cert_file", "context", "key_file")

    def __init__(self, cert_file: str, key_file: str) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self.context = server_context(cert_file, key_file)

    def reload(self) -> None:
        """Read both files again; TLSSetupError (and the old context kept) if they cannot be used."""
        self.context = server_context(self.cert_file, self.key_file)


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    for setting, path in (("--tls-cert / TLS_CERT", cert_file), ("--tls-key / TLS_KEY", key_file)):
        try:
            with open(path, "rb"):
                pass
        except OSError as problem:
            raise TLSSetupError(f"cannot read {path}: {problem.strerror or problem}; check {setting}") from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as problem:
        if "KEY_VALUES_MISMATCH" in str(problem):
            raise TLSSetupError(f"--tls-key {key_file} does not match --tls-cert {cert_file}") from None
        raise TLSSetupError(
            f"cannot load --tls-cert {cert_file} and --tls-key {key_file}: "
            "expected a PEM certificate and its PEM private key"
        ) from None
    return context
