"""Protocol presets and protocol-level scoring (THEval final score, JWB-DH tables)."""
