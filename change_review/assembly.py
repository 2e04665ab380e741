"""The two sides of a change: the stacks of a synthesized cloud assembly (cdk.out), or the
templates CloudFormation holds for the stacks deployed in a region."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import IDENTITY_STACK, stack_name

STACK_ARTIFACT = "aws:cloudformation:stack"
# CloudFormation accepts templates up to 1 MB (from S3); anything much larger is not one.
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024


class AssemblyError(ValueError):
    """The directory is not a cloud assembly we can read; the message says what to do."""


@dataclass(frozen=True)
class StackTemplate:
    name: str
    region: str
    template: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources


def deployed_by(name: str, stack_region: str, region: str) -> bool:
    """Whether the pipeline's job for `region` deploys this stack: the region's own stacks
    (trustbase-<region>-*, the DR vault included, which lives in the in-jurisdiction DR region) and,
    in Identity Center's home region, trustbase-identity. trustbase-organization (in the management
    account) is never deployed by the pipeline."""
    return name.startswith(stack_name(region, "")) or (name == IDENTITY_STACK and stack_region == region)


def load_assembly(cdk_out: Path, *, region: str | None = None) -> dict[str, StackTemplate]:
    """Every stack of the assembly in `cdk_out` (its manifest.json), by stack name; with `region`,
    only those the region's deploy job deploys (`deployed_by`). An empty or missing directory is an
    error: a base branch that was not synthesized must not read as "nothing deployed"."""
    manifest_file = cdk_out / "manifest.json"
    if not manifest_file.is_file():
        raise AssemblyError(
            f"{cdk_out}: no manifest.json, so not a synthesized cloud assembly. "
            f"Fix: run `make synth CDK_OUT={cdk_out}` on the commit to compare with"
        )
    try:
        artifacts: Mapping[str, Any] = json.loads(manifest_file.read_text())["artifacts"]
        if not isinstance(artifacts, Mapping):
            raise ValueError("artifacts is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise AssemblyError(f"{manifest_file}: unreadable manifest ({exc}). Fix: synthesize again") from exc
    stacks: dict[str, StackTemplate] = {}
    inside = cdk_out.resolve()
    for artifact in artifacts.values():
        if not isinstance(artifact, Mapping) or artifact.get("type") != STACK_ARTIFACT:
            continue
        try:
            stack_region = str(artifact["environment"]).rsplit("/", 1)[-1]
            props = artifact["properties"]
            name = str(props.get("stackName") or artifact.get("displayName"))
            template_file = cdk_out / str(props["templateFile"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise AssemblyError(f"{manifest_file}: a stack artifact without {exc}. Fix: synthesize again") from exc
        if region is not None and not deployed_by(name, stack_region, region):
            continue
        # The assembly may come from a pull request's run (data): its files must lie inside it.
        if template_file.is_symlink() or inside not in template_file.resolve().parents:
            raise AssemblyError(f"{template_file}: not a file of the assembly. Fix: synthesize again")
        try:
            if template_file.stat().st_size > MAX_TEMPLATE_BYTES:
                raise AssemblyError(f"{template_file}: larger than {MAX_TEMPLATE_BYTES:,} bytes, not a template")
            template = json.loads(template_file.read_text())
        except (OSError, ValueError) as exc:
            raise AssemblyError(f"{template_file}: cannot read the template ({exc}). Fix: synthesize again") from exc
        if not isinstance(template, Mapping) or not isinstance(template.get("Resources", {}), Mapping):
            raise AssemblyError(f"{template_file}: not a CloudFormation template. Fix: synthesize again")
        stacks[name] = StackTemplate(name=name, region=stack_region, template=template)
    if not stacks:
        where = f" deployed by the {region} job" if region is not None else ""
        raise AssemblyError(f"{cdk_out}: no stacks{where}. Fix: check the region name and the synth")
    return stacks


def deployed_templates(client_for: Callable[[str], Any], stacks: Iterable[StackTemplate]) -> dict[str, StackTemplate]:
    """The templates CloudFormation holds for those of `stacks` that exist, each read in its own
    region (`client_for(region)`: a boto3 CloudFormation client); a stack not yet deployed is absent
    (all its resources are new). Any other error (access denied, throttling) is raised: it must
    never read as "not deployed". GetTemplate with TemplateStage=Original returns what was
    submitted, the same form as cdk.out."""
    found: dict[str, StackTemplate] = {}
    for stack in stacks:
        client = client_for(stack.region)
        try:
            body = client.get_template(StackName=stack.name, TemplateStage="Original")["TemplateBody"]
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(exc):
                continue
            raise
        template = body if isinstance(body, Mapping) else json.loads(body)
        found[stack.name] = StackTemplate(name=stack.name, region=stack.region, template=template)
    return found
