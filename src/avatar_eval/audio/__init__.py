"""Audio analysis: VAD, loudness."""
