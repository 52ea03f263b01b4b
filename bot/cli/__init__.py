"""Command line: python -m bot … (admin, check, knowledge and console commands)."""
