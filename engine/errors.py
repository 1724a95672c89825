"""User-facing errors: each message is one line that names the file or request and what is wrong."""


class EngineError(Exception):
    """Base class; `str(err)` is shown to the user as is."""


class CheckpointError(EngineError):
    """A checkpoint directory, file or tensor is missing, corrupt or does not fit the model."""



class Cancelled(EngineError):
    """A caller's `should_stop` asked the denoising loop to stop."""
