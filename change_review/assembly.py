"""The two sides of a change: the stacks of a synthesized cloud assembly (cdk.out), or the
templates CloudFormation holds for the stacks deployed in a region."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"


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


def load_assembly(cdk_out: Path, *, regions: Iterable[str] | None = None) -> dict[str, StackTemplate]:
    """Every stack of the assembly in `cdk_out` (its manifest.json), by stack name; only the stacks
    deployed to `regions` if given. An empty or missing directory is an error: a base branch that
    was not synthesized must not read as "nothing deployed"."""
    manifest_file = cdk_out / "manifest.json"
    if not manifest_file.is_file():
        raise AssemblyError(
            f"{cdk_out}: no manifest.json, so not a synthesized cloud assembly. "
            f"Fix: run `make synth CDK_OUT={cdk_out}` on the commit to compare with"
        )
    try:
        artifacts: Mapping[str, Any] = json.loads(manifest_file.read_text())["artifacts"]
    except (ValueError, KeyError) as exc:
        raise AssemblyError(f"{manifest_file}: unreadable manifest ({exc}). Fix: synthesize again") from exc
    wanted = set(regions) if regions is not None else None
    stacks: dict[str, StackTemplate] = {}
    for artifact in artifacts.values():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        region = str(artifact["environment"]).rsplit("/", 1)[-1]
        if wanted is not None and region not in wanted:
            continue
        props = artifact["properties"]
        name = props.get("stackName") or artifact.get("displayName")
        template_file = cdk_out / props["templateFile"]
        try:
            template = json.loads(template_file.read_text())
        except (OSError, ValueError) as exc:
            raise AssemblyError(f"{template_file}: cannot read the template ({exc}). Fix: synthesize again") from exc
        stacks[str(name)] = StackTemplate(name=str(name), region=region, template=template)
    if not stacks:
        where = f" in {sorted(wanted)}" if wanted is not None else ""
        raise AssemblyError(f"{cdk_out}: no stacks{where}. Fix: check the region names and the synth")
    return stacks


def deployed_templates(cloudformation: Any, stack_names: Iterable[str], region: str) -> dict[str, StackTemplate]:
    """The templates CloudFormation holds for those of `stack_names` that exist (a stack not yet
    deployed is absent: all its resources are new). `cloudformation` is a boto3 client of `region`.
    GetTemplate with TemplateStage=Original returns what was submitted, the same form as cdk.out."""
    found: dict[str, StackTemplate] = {}
    for name in stack_names:
        try:
            body = cloudformation.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
        except cloudformation.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                continue
            raise
        template = body if isinstance(body, Mapping) else json.loads(body)
        found[name] = StackTemplate(name=name, region=region, template=template)
    return found
