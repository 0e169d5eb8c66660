"""vial.builders.layers: one builder per kind of layer (Debian root filesystem, Python wheels, code and data files, an OCI base) and the deterministic tar they share."""
