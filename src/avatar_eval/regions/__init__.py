"""Face / mouth / hand / body tracks and crops."""
