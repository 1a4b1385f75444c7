"""The small, pure vocabulary that rules, schema, dump, load and sync share.

Each idea has one home here; modules import nothing of pydm but `dm.errors`.
"""
