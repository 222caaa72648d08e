"""The one error type for user mistakes.

Everything a user can get wrong (a bad file, a missing column, an option the machine cannot run)
raises `NewsdeskError` or a subclass, with a message that names the file, record or option and
the problem. The CLI prints that message on one line and exits with status 2.
"""


class NewsdeskError(ValueError):
    """A user mistake: bad input, a bad option or an unusable model folder."""


class DataError(NewsdeskError):
    """Bad input data: the message names the file, line or column and the problem."""
