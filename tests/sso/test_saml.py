"""The portal's own Web SSO profile checks (saml._check_profile), each on its own: python3-saml checks some of
the same things more loosely, so through the ACS a missing portal check can hide behind the library's."""
from __future__ import annotations

import pytest

from devtools.saml_idp import post_form
from portal.sso import saml
from portal.sso.reasons import Reason
from portal.sso.urls import sp_urls

ACS = "https://portal.test/login/saml/acme/callback"

CASES = {
    "destination_with_query": (dict(destination=ACS + "?x=y"), Reason.DESTINATION_MISMATCH),
    "no_destination": (dict(destination=None), Reason.DESTINATION_MISMATCH),
    "no_audience_restriction": (dict(audience=None), Reason.AUDIENCE_MISMATCH),
    "other_audience": (dict(audience="https://portal.test/login/saml/globex"), Reason.AUDIENCE_MISMATCH),
    "recipient_with_query": (dict(recipient=ACS + "?x=y"), Reason.DESTINATION_MISMATCH),
    "no_recipient": (dict(recipient=None), Reason.DESTINATION_MISMATCH),
    "no_subject_not_on_or_after": (dict(subject_not_on_or_after=None), Reason.MALFORMED_RESPONSE),
    "subject_answers_another_request": (dict(subject_in_response_to="ONELOGIN_another_request"),
                                        Reason.REQUEST_UNKNOWN_OR_USED),
}


def _check(flow, **options):
    request = flow.start()
    response = saml.parse_response(flow.account, {"post_data": post_form(flow.respond(request, **options))})
    saml._check_profile(flow.account, response, sp_urls(flow.account.domain).acs_url, request.request_id)


def test_a_well_formed_response_passes(flow):
    _check(flow)  # raises Rejected otherwise


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_profile_check_refuses_on_its_own(flow, case):
    options, reason = CASES[case]
    with pytest.raises(saml.Rejected) as info:
        _check(flow, **options)
    assert info.value.reason is reason, info.value.problem
