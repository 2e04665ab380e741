"""The moto world of the broker tests (Identity Center, identity store, IAM, S3, SNS, Step
Functions), shared with the workflow tests."""

from tests.elevation.test_broker import world  # noqa: F401
