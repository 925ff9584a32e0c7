"""Fakes of outside services for tests: local servers that speak their protocols."""
