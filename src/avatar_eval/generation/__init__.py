"""Generate, then evaluate: the generator adapter and the reference baselines (docs/generate.md)."""
