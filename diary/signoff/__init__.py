"""Investigator sign-off (SPEC §14): electronic signatures linked to the exact record
version signed, and the locks that close a participant's data or freeze the study.

Below the packages that write diary data: each of them, after auditing a change to
a participant's entries, questionnaires or adverse events, calls
`signatures.recheck`, and asks `locks.ensure_writable` before writing.
"""
