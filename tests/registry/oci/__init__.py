"""Tests of vial.registry.oci."""
