"""Emulators side by side (make local: one server per region, forked from one process): each answers,
each has state of its own, and none outlives the block that started it."""

from __future__ import annotations

import boto3
import pytest
import requests

from local_aws.emulator import running_emulators


def test_servers_forked_side_by_side_share_nothing_and_stop_together() -> None:
    with running_emulators(2) as (first, second):
        clients = [
            boto3.client(
                "s3", endpoint_url=e, region_name="eu-west-1", aws_access_key_id="l", aws_secret_access_key="l"
            )
            for e in (first, second)
        ]
        clients[0].create_bucket(
            Bucket="only-in-the-first", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        assert [b["Name"] for b in clients[0].list_buckets()["Buckets"]] == ["only-in-the-first"]
        assert clients[1].list_buckets()["Buckets"] == []
    for endpoint in (first, second):
        with pytest.raises(requests.RequestException):
            requests.get(f"{endpoint}/moto-api/", verify=False, timeout=2)
