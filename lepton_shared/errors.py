"""Errors that mean "the user did something wrong", as opposed to bugs.

The CLI turns a :class:`UserError` into one readable line and exit code 2; the
HTTP shell turns it into a 4xx JSON body. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix (bad file, wrong column, unknown version)."""

    status_code = 400


class NotFoundError(UserError):
    """Something the user named does not exist (model version, session, item)."""

    status_code = 404


class NotReadyError(UserError):
    """The app cannot answer yet, typically because no model was trained."""

    status_code = 503


class ConflictError(UserError):
    """The request clashes with what is stored (an id already used), possibly by a concurrent request."""

    status_code = 409


class TooLargeError(UserError):
    """The input is larger than the service accepts (bytes, pixels, decompressed size)."""

    status_code = 413


class ConfigurationError(UserError):
    """The suite is set up wrongly (a bad ``LEPTON_*`` value, an unreachable database): the operator's to fix."""

    status_code = 503
