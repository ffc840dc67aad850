"""Developer tools shared by tests/, bench/ and `make idp`: the pysaml2 test IdP (saml_idp), its web app
(idp), the portal under gunicorn (servers, harness). Nothing here depends on the tests package."""
