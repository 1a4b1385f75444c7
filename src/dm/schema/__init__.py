"""The upstream-side schema of replicated tables, and DDL handling."""
