"""The one exception type of the runner: its message is a single line."""


class RunnerError(Exception):
    """A step of the runner failed; str(error) says which and why."""
