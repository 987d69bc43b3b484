"""The CRM's business rules: aggregates, value objects and domain events.

Pure Python: nothing here may import outside the standard library (enforced by
import-linter and tests/test_architecture.py).
"""
