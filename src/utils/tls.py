"""The server's TLS context: the ``ssl`` module's secure defaults, TLS 1.2 or newer only.

Every way the certificate or key can be unusable (missing, unreadable, not PEM, a key that does not
match the certificate) becomes ``TLSSetupError`` with one line that names the file, so the server
can exit with that line instead of a traceback.
"""

from __future__ import annotations

import ssl


class TLSSetupError(Exception):
    """The certificate or key cannot be used; the message is one line for the user."""


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
