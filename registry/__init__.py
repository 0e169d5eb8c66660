"""vial.registry: where images live: the local content-addressed store, exports, and remotes."""
