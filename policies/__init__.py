"""vial.policies: rules an image must meet."""
