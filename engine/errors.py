"""User-facing errors: each message is one line that names the file or request and what is wrong."""


class EngineError(Exception):
    """Base class; `str(err)` is shown to the user as is."""


class CheckpointError(EngineError):
    """A checkpoint directory, file or tensor is missing, corrupt or does not fit the model."""



class Cancelled(EngineError):
    """A caller's `should_stop` asked the denoising loop to stop."""


class RunFailed(EngineError):
    """A model run that failed for what the model met, not for the request: its logits not finite, the device out of
    memory. ``kind`` names which, the same whatever the details the message gives (the step, the sizes), so that a
    caller can tell one failure met again from another."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
