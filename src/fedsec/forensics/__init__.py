"""Forensics: incidents from alerts (correlation over actors, targets, families and time), their
JSON and HTML reports, threat-intel export (STIX 2.1) that leaves only when the user asks, and
retro-hunts (a new model against a baseline on stored telemetry)."""
