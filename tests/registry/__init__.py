"""Tests of vial.registry, one folder per subpackage."""
