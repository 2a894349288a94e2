"""Helpers the tests share: clients, factories, browsers, real services."""
