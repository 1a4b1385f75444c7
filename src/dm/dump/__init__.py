"""Dump unit: a consistent snapshot of the chosen tables, written as key-range chunk files."""
