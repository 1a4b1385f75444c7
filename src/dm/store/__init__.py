"""Cluster state in etcd: key layout (DM's, §8.3) and a small async client wrapper."""
