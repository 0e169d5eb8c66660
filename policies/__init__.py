"""vial.policies: what must hold before anything runs, and the runtimes that enforce it."""
