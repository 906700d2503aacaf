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
    errno.ENOTDIR: "a file stands where alloop needs a folder; move the file away or change ALLOOP_HOME",
    errno.EEXIST: "a file stands where alloop needs a folder; move the file away or change ALLOOP_HOME",
}

API_KEY_FIX = 'set ARGILLA_API_KEY to a valid key (for the local stack: eval "$(alloop stack env)")'


def has_hint(error: BaseException) -> bool:
    """Whether ``describe`` knows the fix for this OS error (others are likely bugs: keep the traceback)."""
    return isinstance(error, OSError) and error.errno in _OS_HINTS


def describe(error: BaseException) -> str:
    """What went wrong in one line, naming the fix where one is known (no traceback).

    A library's wrapper (small-text's SerializationException around a full disk, say) is described
    by the cause it was raised from, when that cause is one whose fix is known.
    """
    cause: BaseException | None = error
    while cause is not None:
        known = _known(cause)
        if known is not None:
            return known
        cause = cause.__cause__
    return f"{type(error).__name__}: {error}"


def _known(error: BaseException) -> str | None:
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, OSError) and error.errno in _OS_HINTS:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}: {_OS_HINTS[error.errno]}"
    if isinstance(error, redis.AuthenticationError | redis.TimeoutError | redis.ConnectionError):
        return redis_failure(error)
    if isinstance(error, httpx.TransportError):
        return f"Argilla does not answer ({error}); start it or fix ARGILLA_API_URL"
    # Imported here: the adapter imports this module, and it alone knows the SDK's errors.
    from common.argilla_adapter import describe_error

    return describe_error(error)


def redis_failure(error: BaseException, where: str = "") -> str:
    """``Redis{where} …``: what a failure to reach Redis means, and its fix (``where``: " at URL")."""
    if isinstance(error, redis.AuthenticationError):
        return f"Redis{where} refused the credentials ({error}); fix the password (and user) in REDIS_URL"
    if isinstance(error, redis.TimeoutError):
        return f"Redis{where} did not answer in time ({error}); check that it runs and REDIS_URL points at it"
    if "SSL" in str(error):
        return (
            f"Redis{where} TLS handshake failed ({error}); check rediss:// and ssl_ca_certs in REDIS_URL, "
            "and the server's certificate"
        )
    return f"Redis{where} does not answer ({error}); start it or fix REDIS_URL"
