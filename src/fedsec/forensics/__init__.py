"""Forensics: incidents from alerts (correlation over actors, targets, families and time), their
JSON and HTML reports, and threat-intel export (STIX 2.1) that leaves only when the user asks."""
