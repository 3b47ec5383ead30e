"""Plots and human-readable reports."""
