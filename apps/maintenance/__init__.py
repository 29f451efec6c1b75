"""Maintenance app: remaining-useful-life estimates and an RL maintenance policy."""
