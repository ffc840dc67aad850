"""An Okta-style app tile in a real browser: the IdP-initiated post is restarted as SP-initiated and lands signed in.

The test IdP runs as its own server on "localhost" (another site than the portal's 127.0.0.1), so the tile's
post to the ACS and the restart through the IdP are real cross-site navigations.
"""
from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from devtools.servers import ROOT, flask, free_port, stop, wait_for_port
from tests.e2e.helpers import shot

pytestmark = pytest.mark.e2e


def test_clicking_the_tile_lands_signed_in(portal_server, page, tmp_path):
    url = portal_server["url"]
    initiation_url = f"{url}/login/saml/tiles"
    port = free_port()
    with open(tmp_path / "idp.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "devtools.idp", "--port", str(port), "--key-dir",
                                    str(tmp_path), "--host-name", "localhost", "--tile", initiation_url],
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, process)
        base = f"http://localhost:{port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/certificate") as response:
            (tmp_path / "idp.crt").write_bytes(response.read())
        env = portal_server["env"]
        flask(env, "accounts", "create", "--name", "Tiles", "--domain", "tiles", "--admin-email",
              "admin@tiles.test", "--admin-password", "tiles-admin-password")
        flask(env, "sso-config", "set", "tiles", "--idp-login-url", f"{base}/sso", "--idp-issuer", f"{base}/idp",
              "--idp-cert", str(tmp_path / "idp.crt"), "--auto-create-users", "--enable")

        page.goto(base + "/")
        page.get_by_role("link", name=f"Portal app: {initiation_url}").click()
        page.get_by_label("Email").fill("tile.user@tiles.test")
        page.get_by_label("Default RelayState").fill("/account")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Continue to the portal").click()  # the unsolicited post to the ACS
        # The portal restarted the login through the IdP, which still has its session and answers at once.
        page.wait_for_url(f"{base}/sso?*")
        page.get_by_role("button", name="Continue to the portal").click()
        page.wait_for_url(url + "/account")
        shot(page, "tile-landed")
        page.goto(url + "/")
        assert "tile.user@tiles.test" in page.inner_text("main")
    finally:
        stop(process)
