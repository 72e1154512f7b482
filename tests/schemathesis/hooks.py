"""Schemathesis hooks for todo-api's run (scripts/schemathesis).

The token schemathesis sends belongs to one user; deleting that user would turn every later
request into a 401 and the run into a test of 401s. Its id comes from the environment.
"""
import os
import re
import uuid

import schemathesis

PROTECTED = os.environ.get("TODO_API_PROTECTED_USER")


@schemathesis.hook("filter_path_parameters").apply_to(method="DELETE", path="/users/{user_id}")
def keep_the_token_user(context, path_parameters):
    return str((path_parameters or {}).get("user_id")) != PROTECTED


VALID_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook("map_headers").apply_to(method="POST")
def fresh_idempotency_keys(context, headers):
    """A valid Idempotency-Key made unique per request. Schemathesis draws the same few key
    values for many requests; with a different body the server must refuse the reuse (422),
    with the same body it replays the first answer, whose user may since have been deleted.
    Both are by design (tests/api/idempotency.rs proves them); invalid keys stay as drawn."""
    if headers:
        for name, value in list(headers.items()):
            if name.lower() == "idempotency-key" and VALID_KEY.fullmatch(str(value)):
                headers[name] = uuid.uuid4().hex
    return headers


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but four that the checks get wrong: a schema-valid request with
    an `If-Match` naming no current version of the item must be refused with 412 (RFC 9110,
    section 13.1.1), an email already registered with 400, and a reused Idempotency-Key with
    a different request with 422, and a `cursor` the server did not issue with 422;
    schemathesis expects all four accepted."""
    sends_if_match = any(name.lower() == "if-match" for name in (case.headers or {}))
    stale_if_match = response.status_code == 412 and sends_if_match
    # The FastAPI app's own rule: an email signs up once (400). The data is schema-valid,
    # and the second sign-up with it is refused by design, not by mistake.
    registered = response.status_code == 400 and "Email already registered" in response.text
    # The coverage phase sends drawn key values without the map_headers hook above: the same
    # "0" for different bodies, which the server must refuse (422) by design.
    key_reused = response.status_code == 422 and '"idempotency_key_reused"' in response.text
    # A cursor is opaque: only the value a `next` link carries is one (like an ETag).
    foreign_cursor = response.status_code == 422 and "Invalid cursor" in response.text
    dropped = stale_if_match or registered or key_reused or foreign_cursor
    if dropped and os.environ.get("SCHEMATHESIS_DROPPED_LOG"):
        with open(os.environ["SCHEMATHESIS_DROPPED_LOG"], "a") as log:
            log.write(f"{case.method} {case.path} {response.status_code} {failure.title}\n")
    return not dropped
