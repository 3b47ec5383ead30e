"""Per-clip context with lazily computed shared artifacts, manifests and runners."""
