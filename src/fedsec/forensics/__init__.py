"""Forensics on alerts: retro-hunts (and incidents)."""
