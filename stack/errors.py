"""The one error the local stack raises for problems a user can fix."""

from common.errors import UserError


class StackError(UserError):
    """A problem with the local stack; the message names the problem and the fix."""
