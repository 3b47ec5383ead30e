"""avatar-eval: one toolkit for the published talking-avatar evaluation protocols."""

__version__ = "0.1.0"

__all__ = ["__version__"]
