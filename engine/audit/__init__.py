"""Auditors' side: hash-chain checks, re-execution of histories, the audit pages' read side."""
