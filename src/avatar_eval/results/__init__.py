"""Result records, the JSONL store and aggregation."""
