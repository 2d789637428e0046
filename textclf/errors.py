"""The one exception type users see: a problem with their input, said in one line with its fix."""


class TextclfError(Exception):
    """A user-facing error. The CLI prints its message on one line and exits with code 2."""
