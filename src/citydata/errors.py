"""The one exception type users see: its message is a single line saying what is wrong and how to fix it."""


class CityDataError(Exception):
    """A problem the user can act on. The CLI prints ``str(err)`` on one line and exits non-zero."""

    exit_code = 2
