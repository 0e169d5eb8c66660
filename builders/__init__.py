"""vial.builders: turn a locked spec into OCI image layers."""
