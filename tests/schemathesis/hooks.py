"""Schemathesis hooks for todo-api's run (scripts/schemathesis).

The token schemathesis sends belongs to one user; deleting that user would turn every later
request into a 401 and the run into a test of 401s. Its id comes from the environment.
"""
import os

import schemathesis

PROTECTED = os.environ.get("TODO_API_PROTECTED_USER")


@schemathesis.hook("filter_path_parameters").apply_to(method="DELETE", path="/users/{user_id}")
def keep_the_token_user(context, path_parameters):
    return str(path_parameters.get("user_id")) != PROTECTED
