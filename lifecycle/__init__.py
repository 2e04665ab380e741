"""Data lifecycle runtime: retention expiry and GDPR erasure (DSAR / workspace deletion).

Plain Python with no CDK import: the Lambda handlers (handlers.py) wrap these functions, and the
tests call them directly against a real PostgreSQL and S3 (moto). Database access is DB-API 2
(pg8000, pure Python, so it ships inside the Lambda asset); S3 is a boto3 client.

S3 key layout (the contract with the application tier):
    workspaces/<workspace_id>/users/<user_id>/...   an end user's objects
    workspaces/<workspace_id>/...                    other workspace objects
    visitors/<workspace_id>/<visitor_id>/...         a website visitor's objects
"""

from __future__ import annotations


def user_prefixes(workspace_id: str, user_id: str) -> list[str]:
    return [f"workspaces/{workspace_id}/users/{user_id}/"]


def visitor_prefixes(workspace_id: str, visitor_id: str) -> list[str]:
    return [f"visitors/{workspace_id}/{visitor_id}/"]


def workspace_prefixes(workspace_id: str) -> list[str]:
    return [f"workspaces/{workspace_id}/", f"visitors/{workspace_id}/"]
