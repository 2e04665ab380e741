"""Validation of an identity provider's SAML 2.0 metadata before IAM ever sees it.

IAM CreateSAMLProvider takes the IdP's metadata document (SAMLMetadataDocument: 1,000 to 10,000,000
characters) and needs, per the IAM user guide ("Create a SAML identity provider in IAM"), the
issuer's name (entityID), its signing certificate and its single sign-on endpoint. A file that is
not that (an SP's metadata, an HTML login page saved by mistake, a truncated download) is refused
here with the reason, not by a failed deploy.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
MIN_CHARS, MAX_CHARS = 1_000, 10_000_000


class SamlMetadataError(ValueError):
    pass


def check_saml_metadata(data: bytes) -> str:
    """The metadata document as text, or SamlMetadataError naming what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SamlMetadataError(f"not UTF-8 (byte {exc.start})") from exc
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        raise SamlMetadataError(f"{len(text)} characters; IAM accepts {MIN_CHARS}..{MAX_CHARS}")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # no entity expansion, ever
        raise SamlMetadataError("it declares a DOCTYPE or entities, which SAML metadata never needs")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise SamlMetadataError(f"not well-formed XML ({exc})") from exc
    if root.tag != f"{{{MD}}}EntityDescriptor":
        raise SamlMetadataError(f"the root element is {root.tag}, not a SAML 2.0 md:EntityDescriptor")
    if not root.get("entityID"):
        raise SamlMetadataError("the EntityDescriptor has no entityID (the issuer IAM checks assertions against)")
    idp = root.find(f"{{{MD}}}IDPSSODescriptor")
    if idp is None:
        raise SamlMetadataError("it has no IDPSSODescriptor: this is not an identity provider's metadata")
    if SAML2_PROTOCOL not in (idp.get("protocolSupportEnumeration") or "").split():
        raise SamlMetadataError("the IDPSSODescriptor does not support the SAML 2.0 protocol")
    if idp.find(f"{{{MD}}}SingleSignOnService") is None:
        raise SamlMetadataError("the IDPSSODescriptor has no SingleSignOnService")
    certificates = [
        c.text or ""
        for k in idp.findall(f"{{{MD}}}KeyDescriptor")
        if k.get("use") in (None, "signing")
        for c in k.iter(f"{{{DS}}}X509Certificate")
    ]
    if not certificates:
        raise SamlMetadataError('it has no signing certificate (KeyDescriptor use="signing" with an X509Certificate)')
    for cert in certificates:
        try:
            der = base64.b64decode("".join(cert.split()), validate=True)
        except binascii.Error as exc:
            raise SamlMetadataError(f"a signing certificate is not base64 ({exc})") from exc
        if len(der) < 100 or der[0] != 0x30:  # a DER certificate is an ASN.1 SEQUENCE
            raise SamlMetadataError("a signing certificate is not a DER X.509 certificate")
    return text
