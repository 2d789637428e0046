"""The one exception type users see: a problem with their input, said in one line with its fix."""


class TextclfError(Exception):
    """A user-facing error. The CLI prints its message on one line and exits with code 2."""


class Interrupted(BaseException):
    """SIGINT (Ctrl-C) or SIGTERM stopped a command. A BaseException, so that `except Exception` code
    paths never swallow it; the CLI prints `message` on one line and exits with 128 + the signal."""

    def __init__(self, signum: int, message: str = "interrupted: nothing was written"):
        super().__init__(message)
        self.signum = signum
        self.message = message

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)


def check_at_least(flag: str, value, low) -> None:
    """A one-line error when an option is below its smallest sensible value (e.g. --data.batch_size 0)."""
    if value is not None and value < low:
        raise TextclfError(f"{flag} must be at least {low}, got {value}")


def check_between(flag: str, value, low: float, high: float, high_included: bool = False) -> None:
    """A one-line error when an option is outside [low, high) (or [low, high])."""
    if value is not None and not (low <= value <= high if high_included else low <= value < high):
        raise TextclfError(f"{flag} must be in [{low}, {high}{']' if high_included else ')'}, got {value}")


def check_positive(flag: str, value) -> None:
    if value is not None and not value > 0:
        raise TextclfError(f"{flag} must be greater than 0, got {value}")
