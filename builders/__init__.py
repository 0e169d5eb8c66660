"""vial.builders: turn locked inputs into deterministic OCI layers, and layers into an image."""
