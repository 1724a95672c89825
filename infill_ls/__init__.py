"""infill-ls: a language server that fills holes in code with a bidirectional diffusion denoiser."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infill-ls")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"
