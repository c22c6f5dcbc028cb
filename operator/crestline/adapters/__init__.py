"""Adapters: one small module per outside system, each behind a narrow interface.

The decision core never imports these; the reconciler receives them as arguments, so
tests can hand it real clients pointed at the local stack.
"""
