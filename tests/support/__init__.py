"""Test support helpers: system dependencies and external quality checkers."""
