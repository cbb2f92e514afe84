"""Exports for the statisticians (SPEC §10): CSV tables and an SDTM-style package."""
