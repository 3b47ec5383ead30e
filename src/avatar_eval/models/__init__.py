"""Network definitions in plain torch (or transformers wrappers) and their weight loading."""
