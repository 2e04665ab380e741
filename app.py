#!/usr/bin/env python3
"""trustbase CDK app: every configured region, every stack, every compliance gate.

The only place that reads the environment or CDK context. Account precedence:
`-c account=<id>`, then CDK_DEFAULT_ACCOUNT, then the offline placeholder.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

from config import DEFAULT_CONFIG_FILE, PLACEHOLDER_ACCOUNT, AppConfig, ConfigError, load_config_file
from contract import IDENTITY_STACK, ORGANIZATION_STACK
from stacks.identity_stack import IdentityStack
from stacks.organization_stack import OrganizationStack
from stacks.region import RegionStacks, add_region


def register_compliance_gates(app: App) -> None:
    """All four cdk-nag packs; an unacknowledged finding fails synth (ValidationFailed)."""
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
        PCIDSS321Checks(app),
    )


FEATURE_FLAGS_FILE = Path(__file__).with_name("cdk.json")


def feature_flags() -> dict[str, Any]:
    """cdk.json's context (CDK feature flags), applied whether or not the CLI runs the app."""
    context: dict[str, Any] = json.loads(FEATURE_FLAGS_FILE.read_text())["context"]
    return context


def build_app(
    app_config: AppConfig, *, outdir: str | None = None, context: Mapping[str, Any] | None = None
) -> tuple[App, dict[str, RegionStacks]]:
    """Build (not synthesize) the app for `app_config`. Used by main() and the tests."""
    app = App(outdir=outdir, context={**feature_flags(), **(context or {})})
    regions = {rc.name: add_region(app, app_config, rc) for rc in app_config.regions}
    identity = IdentityStack(
        app,
        IDENTITY_STACK,
        app_config=app_config,
        env=Environment(account=app_config.account, region=app_config.access.home_region),
        stack_name=IDENTITY_STACK,
        description=f"trustbase identity: {app_config.access.identity_source.value} access for every region",
    )
    for stacks in regions.values():
        if stacks.cicd is not None:  # its roles trust the account's GitHub OIDC provider
            stacks.cicd.add_stack_dependency(identity)
    perimeter = app_config.perimeter
    if perimeter.organization_targets:  # the optional organization layer, in the management account
        OrganizationStack(
            app,
            ORGANIZATION_STACK,
            app_config=app_config,
            env=Environment(account=perimeter.management_account or app_config.account, region="us-east-1"),
            stack_name=ORGANIZATION_STACK,
            description="trustbase organization layer: Region-deny SCP and identity-perimeter RCP",
        )
    register_compliance_gates(app)
    return app, regions


def main() -> None:
    cli_context = App().node  # context passed by the CLI (-c key=value, cdk.context.json)
    account = cli_context.try_get_context("account") or os.environ.get("CDK_DEFAULT_ACCOUNT") or PLACEHOLDER_ACCOUNT
    config_path = Path(cli_context.try_get_context("config") or DEFAULT_CONFIG_FILE)
    try:
        app_config = load_config_file(config_path, account=str(account))
    except ConfigError as exc:
        sys.exit(f"{exc}\n(config file: {config_path})")  # before any stack is built
    app, _ = build_app(app_config)  # outdir and CLI context come from the environment
    app.synth()


if __name__ == "__main__":
    main()
