"""Deterministic X.509 material for the mock engine.

Keys are derived from a name (EC P-256 from a SHA-256 seed) and certificates are signed with
deterministic ECDSA, so a plan is the same on every run while its CA data are real certificates
that tests can parse and verify.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
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


@cache
def cluster_ca_b64(cluster: str) -> str:
    """base64 PEM of a cluster's API server CA, as clouds return it."""
    key = derive_key(f"cluster-ca/{cluster}")
    cert = self_signed_ca(f"{cluster}-ca", key)
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


MOCK_OUTPUTS: dict[str, Callable[[Any], dict[str, Any]]] = {}


# --- pulumi-tls resources ---------------------------------------------------------------------
# The mock answers for tls:index/* with real keys and certificates: keys derived from the
# resource's logical name, certificates built from the resource's inputs (property names as in
# pulumi_tls), so a test can verify a chain the program built exactly as the provider would.

_KEY_USAGES = {
    "digital_signature": "digital_signature", "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment", "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement", "cert_signing": "key_cert_sign", "crl_signing": "crl_sign",
}
_EXT_USAGES = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
}
_SUBJECT_ATTRS = (
    ("country", NameOID.COUNTRY_NAME), ("province", NameOID.STATE_OR_PROVINCE_NAME), ("locality", NameOID.LOCALITY_NAME),
    ("organization", NameOID.ORGANIZATION_NAME), ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("commonName", NameOID.COMMON_NAME),
)


def _tls_key(a: Any) -> dict[str, Any]:
    if a.inputs.get("algorithm") != "ECDSA" or a.inputs.get("ecdsaCurve") != "P256":
        raise NotImplementedError("the mock engine makes ECDSA P256 keys only")
    key = derive_key(f"tls/{a.name}")
    return {
        "privateKeyPem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()).decode(),
        "privateKeyPemPkcs8": key_pem(key),
        "publicKeyPem": public_pem(key),
    }


_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def _input(inputs: dict[str, Any], name: str) -> Any:
    """An input as the provider would see it: secret-wrapped values unwrapped."""
    value = inputs[name]
    if isinstance(value, dict) and value.get(_SECRET_SIG[0]) == _SECRET_SIG[1]:
        return value["value"]
    return value


def _load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise NotImplementedError("the mock engine signs with ECDSA keys only")
    return key


def _subject(inputs: dict[str, Any]) -> x509.Name:
    subject = inputs.get("subject") or {}
    return x509.Name([x509.NameAttribute(oid, subject[k]) for k, oid in _SUBJECT_ATTRS if subject.get(k)])


def _path_length(is_ca: bool, max_path_length: Any) -> int | None:
    """What the real TLS provider writes: it sets Go's ``MaxPathLen`` but never ``MaxPathLenZero``,
    and crypto/x509 omits pathLenConstraint when MaxPathLen is 0 without MaxPathLenZero (or -1).
    Sources: hashicorp/terraform-provider-tls internal/provider/common_cert.go (createCertificate);
    Go src/crypto/x509/x509.go (BasicConstraints marshalling)."""
    if not is_ca or max_path_length is None or int(max_path_length) <= 0:
        return None
    return int(max_path_length)


def _issue(inputs: dict[str, Any], *, subject: x509.Name, public_key: Any, issuer: x509.Certificate | None,
           signer: ec.EllipticCurvePrivateKey, dns_names: list[str], seed: str) -> dict[str, Any]:
    hours = int(inputs.get("validityPeriodHours", 24))
    uses = list(inputs.get("allowedUses") or [])
    flags = {v: False for v in _KEY_USAGES.values()}
    flags.update({_KEY_USAGES[u]: True for u in uses if u in _KEY_USAGES})
    is_ca = bool(inputs.get("isCaCertificate"))
    path_len = inputs.get("maxPathLength")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big") >> 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_BEFORE + dt.timedelta(hours=hours))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=_path_length(is_ca, path_len)), critical=True)
        .add_extension(x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    ext = [_EXT_USAGES[u] for u in uses if u in _EXT_USAGES]
    if ext:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext), critical=False)
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns_names]), critical=False)
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    cert = _sign(builder, signer)
    return {
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": NOT_BEFORE.isoformat().replace("+00:00", "Z"),
        "validityEndTime": (NOT_BEFORE + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
        "readyForRenewal": False,
    }


def _tls_self_signed(a: Any) -> dict[str, Any]:
    key = _load_key(_input(a.inputs, "privateKeyPem"))
    return _issue(a.inputs, subject=_subject(a.inputs), public_key=key.public_key(), issuer=None, signer=key,
                  dns_names=list(a.inputs.get("dnsNames") or []), seed=f"tls/{a.name}")


def _tls_cert_request(a: Any) -> dict[str, Any]:
    key = _load_key(_input(a.inputs, "privateKeyPem"))
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(a.inputs))
    dns_names = list(a.inputs.get("dnsNames") or [])
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns_names]), critical=False)
    csr = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return {"certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}


def _tls_locally_signed(a: Any) -> dict[str, Any]:
    csr = x509.load_pem_x509_csr(_input(a.inputs, "certRequestPem").encode())
    ca = x509.load_pem_x509_certificate(_input(a.inputs, "caCertPem").encode())
    ca_key = _load_key(_input(a.inputs, "caPrivateKeyPem"))
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    return _issue(a.inputs, subject=csr.subject, public_key=csr.public_key(), issuer=ca, signer=ca_key,
                  dns_names=dns_names, seed=f"tls/{a.name}")


MOCK_OUTPUTS.update({
    "tls:index/privateKey:PrivateKey": _tls_key,
    "tls:index/selfSignedCert:SelfSignedCert": _tls_self_signed,
    "tls:index/certRequest:CertRequest": _tls_cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": _tls_locally_signed,
})
