"""An admin fix text as HTML: `code` spans become <code>, and the page it sends the admin to becomes a link."""
from __future__ import annotations

import re

from flask import url_for
from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`\n]*)`")
# Places named in fix texts (portal/sso/reasons.py) and the endpoint where the admin does what the fix says.
_PLACES = {"the Users page": "admin.users"}


def fix_html(text: str) -> Markup:
    """text escaped, with backtick spans as <code> (a lone backtick is dropped) and named pages linked."""
    html = _CODE.sub(r"<code>\1</code>", str(escape(text or ""))).replace("`", "")
    for phrase, endpoint in _PLACES.items():
        html = html.replace(phrase, f'<a href="{url_for(endpoint)}">{phrase}</a>', 1)
    return Markup(html)  # noqa: S704 - built from escaped text and fixed markup only
