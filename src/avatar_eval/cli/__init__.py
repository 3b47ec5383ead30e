"""The ``avatar-eval`` command line."""
