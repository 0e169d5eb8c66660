"""vial.builders: turn locked inputs into deterministic OCI layers, and layers into an image.

Imports: the core only; never another part, the API or the CLI (docs/architecture.md).
"""
