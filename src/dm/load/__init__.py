"""Load unit: routed CREATE statements, then chunk files bulk-loaded with per-chunk checkpoints."""
