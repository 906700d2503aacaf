"""Errors the user can fix, and one-line descriptions of the failures services report."""

import errno

import httpx
import redis


class UserError(Exception):
    """A problem caused by input or environment; the message names the problem and the fix.

    A job that raises one is not retried: the same input fails the same way until someone fixes it.
    """


_OS_HINTS = {
    errno.ENOSPC: "free disk space there",
    errno.EDQUOT: "free disk space there or raise the quota",
    errno.EACCES: "make ALLOOP_HOME writable for this user",
    errno.EPERM: "make ALLOOP_HOME writable for this user",
    errno.EROFS: "point ALLOOP_HOME at a writable filesystem",
    errno.ENOTDIR: "a file stands where ALLOOP_HOME needs a folder; move it away or change ALLOOP_HOME",
}


def describe(error: BaseException) -> str:
    """What went wrong in one line, naming the fix where one is known (no traceback)."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, OSError) and error.errno in _OS_HINTS:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}: {_OS_HINTS[error.errno]}"
    if isinstance(error, redis.ConnectionError):
        return f"Redis does not answer ({error}); start it or fix REDIS_URL"
    if isinstance(error, httpx.TransportError):
        return f"Argilla does not answer ({error}); start it or fix ARGILLA_API_URL"
    return f"{type(error).__name__}: {error}"
