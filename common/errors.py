"""Errors the user can fix: the CLI prints their message in one line and exits non-zero."""


class UserError(Exception):
    """A problem caused by input or environment; the message names the problem and the fix."""
