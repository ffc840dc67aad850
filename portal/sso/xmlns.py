"""SAML XML names the portal reads with lxml itself (summaries, metadata), in one place.

python3-saml has its own (OneLogin_Saml2_Constants.NSMAP) for the XML it handles; saml.py uses those.
"""
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}
