"""Deterministic X.509 material for the mock engine.

Keys are derived from a name (EC P-256 from a SHA-256 seed) and certificates are signed with
deterministic ECDSA, so a plan is the same on every run while its CA data are real certificates
that tests can parse and verify.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from functools import lru_cache
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def derive_key(seed: str) -> ec.EllipticCurvePrivateKey:
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(value, ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _sign(builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)


def self_signed_ca(common_name: str, key: ec.EllipticCurvePrivateKey, *, days: int = 3650, org: str | None = None) -> x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    name = x509.Name(attrs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(common_name.encode()).digest()[:8], "big"))
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_BEFORE + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    )
    return _sign(builder, key)


@lru_cache(maxsize=None)
def cluster_ca_b64(cluster: str) -> str:
    """base64 PEM of a cluster's API server CA, as clouds return it."""
    key = derive_key(f"cluster-ca/{cluster}")
    cert = self_signed_ca(f"{cluster}-ca", key)
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


MOCK_OUTPUTS: dict[str, Callable[[Any], dict[str, Any]]] = {}
