"""The client's problems, each with the process exit code it maps to: a bad command
line or input file (2), a server that cannot be reached or refuses a request (3).
Messages are one line, fit to show a user as they are."""

USAGE = 2
SERVER = 3


class PushError(Exception):
    exit_code = USAGE

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(PushError):
    """The command line or the input file is unusable; nothing was sent because of it."""

    exit_code = USAGE


class ServerError(PushError):
    """The server could not be reached, or answered a request with an error."""

    exit_code = SERVER
