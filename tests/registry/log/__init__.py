"""Tests of vial.registry.log."""
