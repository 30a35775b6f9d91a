"""Helpers the unit and the integration tests share; the shared fixtures are in tests/conftest.py."""
