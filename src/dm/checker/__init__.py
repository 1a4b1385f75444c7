"""Precheck (`check-task`, and implicitly `start-task`): DM's items and result shape."""
