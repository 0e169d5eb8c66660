"""vial.registry.log: permanent versions: the Merkle tree, signed notes and checkpoints, the log's storage, releases, and sharing and following a log over IPFS."""
