"""vial.builders.lock: resolving a project's inputs to content hashes (vial.lock) and fetching them, checked."""
