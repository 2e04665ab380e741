"""Data lifecycle runtime: retention expiry and GDPR erasure (DSAR / workspace deletion).

Plain Python with no CDK import: the Lambda handlers (handlers.py) wrap these functions, and the
tests call them directly against a real PostgreSQL and S3 (moto). Database access is DB-API 2
(pg8000, pure Python, so it ships inside the Lambda asset); S3 is a boto3 client.

The S3 key layout, the ledger prefix and the database roles come from `contract` (shipped inside
the Lambda asset with this package).
"""

from __future__ import annotations

from contract import user_prefixes, visitor_prefixes, workspace_prefixes

__all__ = ["user_prefixes", "visitor_prefixes", "workspace_prefixes"]
