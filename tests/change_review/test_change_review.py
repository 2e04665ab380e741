"""The change review on pairs of assemblies: synthesized ones (the real app, and the app with the
Aurora construct renamed, which would replace the database) and small hand-made templates for each
kind of change. Expected values come from CloudFormation's documented behaviour: a new logical ID
or a changed create-only property (for example a bucket's BucketName, "Update requires:
Replacement") replaces the resource."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from change_review import render, security, stateful
from change_review.__main__ import main
from change_review.assembly import AssemblyError, StackTemplate, load_assembly
from change_review.diff import Action, Replacement, diff_assemblies, diff_stack
from config import AppConfig
from tests.conftest import Assembly

REGION = "eu-west-1"
DATA = "trustbase-eu-west-1-data"


@pytest.fixture(scope="module")
def renamed_database(app_config: AppConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """eu-west-1 synthesized with the Aurora construct under a new ID ("Aurora" -> "AuroraV2"): the
    refactor the engineering notes warn about, which gives the cluster a new logical ID."""
    import stacks.data_stack as data_stack
    from app import build_app

    original = getattr(data_stack, "SecureAuroraCluster")  # noqa: B009  # the name data_stack.py calls

    def renamed(scope: Any, construct_id: str, **kwargs: Any) -> Any:
        return original(scope, "AuroraV2" if construct_id == "Aurora" else construct_id, **kwargs)

    outdir = tmp_path_factory.mktemp("renamed.out")
    eu = replace(app_config, regions=(app_config.region(REGION),))
    setattr(data_stack, "SecureAuroraCluster", renamed)  # noqa: B010
    try:
        app, _ = build_app(eu, outdir=str(outdir))
        app.synth()
    finally:
        setattr(data_stack, "SecureAuroraCluster", original)  # noqa: B010
    return outdir


def test_the_same_assembly_has_no_changes(assembly: Assembly) -> None:
    stacks = load_assembly(assembly.outdir)
    diffs = diff_assemblies(stacks, stacks)
    assert {d.status for d in diffs} == {"unchanged"}
    assert stateful.check(diffs, []).ok


def test_a_renamed_database_construct_is_a_blocked_replacement(assembly: Assembly, renamed_database: Path) -> None:
    base = load_assembly(assembly.outdir, region=REGION)
    head = load_assembly(renamed_database, region=REGION)
    diffs = diff_assemblies(base, head)
    clusters = [c for d in diffs for c in d.resources if c.type == "AWS::RDS::DBCluster"]
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster.action is Action.RENAME and cluster.replacement is Replacement.YES
    assert cluster.stack == DATA
    assert cluster.renamed_from is not None and cluster.renamed_from.startswith("Aurora")
    assert cluster.logical_id.startswith("AuroraV2")
    verdict = stateful.check(diffs, [])
    assert not verdict.ok
    assert (cluster.address, "replace") in [(c.address, k) for c, k in verdict.blocked]
    # the override names it: that replacement is approved (others the rename causes stay blocked)
    override = stateful.parse_overrides(
        f"Move the cluster\n\nStateful-Change: replace {DATA}/{cluster.renamed_from}: restored from snapshot first\n"
    )
    approved = stateful.check(diffs, override)
    assert [c.address for c, _ in approved.approved] == [cluster.address]
    assert cluster.address not in [c.address for c, _ in approved.blocked]
    text = render.markdown(diffs, verdict, title="t")
    assert "STATEFUL SAFETY" in text and cluster.address in text


def test_the_command_fails_the_rename_and_passes_it_with_the_trailer(
    assembly: Assembly, renamed_database: Path, tmp_path: Path
) -> None:
    """The two data-holding resources under the renamed construct, by the logical IDs the snapshot
    pins: the cluster and its PostgreSQL log group."""
    args = ["--base", str(assembly.outdir), "--head", str(renamed_database), "--region", REGION]
    assert main([*args, "--out-dir", str(tmp_path / "a")]) == 1
    review = json.loads((tmp_path / "a" / f"change-review-{REGION}.json").read_text())
    blocked = sorted((b["address"], b["type"], b["kind"]) for b in review["blocked"])
    assert [(a.split("/")[1][: len("AuroraV2Cluster")], t, k) for a, t, k in blocked] == [
        ("AuroraV2Cluster", "AWS::RDS::DBCluster", "replace"),
        ("AuroraV2Postgre", "AWS::Logs::LogGroup", "replace"),
    ]
    commits = tmp_path / "commits.txt"
    commits.write_text(
        "Move the database construct\n\n"
        f"Stateful-Change: replace {DATA}/AuroraClusterD4EFE71C: restored from a snapshot taken first\n"
        f"Stateful-Change: replace {DATA}/AuroraPostgresqlLogs56104C52: its year of logs exported first\n"
    )
    assert main([*args, "--out-dir", str(tmp_path / "b"), "--commits", str(commits)]) == 0
    assert "STATEFUL SAFETY" not in (tmp_path / "b" / f"change-review-{REGION}.md").read_text()


def _stack(resources: dict[str, Any], name: str = DATA) -> StackTemplate:
    return StackTemplate(name=name, region=REGION, template={"Resources": resources})


BUCKET: dict[str, Any] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "a"}, "DeletionPolicy": "Retain"}


def test_a_create_only_property_replaces_and_another_property_does_not() -> None:
    renamed = copy.deepcopy(BUCKET)
    renamed["Properties"]["BucketName"] = "b"  # S3 BucketName: Update requires Replacement
    change = diff_stack(_stack({"B": BUCKET}), _stack({"B": renamed})).resources[0]
    assert change.replacement is Replacement.YES and change.replaced_by == ("BucketName",)
    versioned = copy.deepcopy(BUCKET)
    versioned["Properties"]["VersioningConfiguration"] = {"Status": "Enabled"}  # No interruption
    change = diff_stack(_stack({"B": BUCKET}), _stack({"B": versioned})).resources[0]
    assert change.replacement is Replacement.NO
    assert [c.dotted for c in change.changes] == ["Properties.VersioningConfiguration"]


def test_a_deleted_or_weakened_stateful_resource_is_blocked_and_a_stateless_one_is_not() -> None:
    weakened = {**BUCKET, "DeletionPolicy": "Delete"}
    topic = {"Type": "AWS::SNS::Topic", "Properties": {}}
    diffs = (diff_stack(_stack({"B": BUCKET, "T": topic, "K": BUCKET}), _stack({"B": weakened})),)
    verdict = stateful.check(diffs, [])
    assert sorted((c.logical_id, k) for c, k in verdict.blocked) == [("B", "removal-policy"), ("K", "delete")]
    removed = next(c for c in diffs[0].resources if c.logical_id == "K")
    assert removed.retained  # Retain: orphaned, still blocked (a fixed name blocks its re-creation)


def test_malformed_trailers_name_the_line_and_the_fix() -> None:
    with pytest.raises(stateful.OverrideError) as err:
        stateful.parse_overrides(
            "Stateful-Change: drop trustbase-eu-west-1-data/B: because it is fine\n"
            "Stateful-Change: replace the bucket\n"
            "Stateful-Change: delete trustbase-eu-west-1-data/B: ok\n"
        )
    problems = err.value.problems
    assert len(problems) == 3
    assert (
        "line 1" in problems[0] and "field 'kind'" in problems[0] and "replace, delete, removal-policy" in problems[0]
    )
    assert "line 2" in problems[1] and "Fix: write it as" in problems[1]
    assert "line 3" in problems[2] and "field 'reason'" in problems[2]


def test_an_override_that_matches_nothing_is_reported() -> None:
    overrides = stateful.parse_overrides(f"Stateful-Change: delete {DATA}/Typo: the bucket moved elsewhere")
    verdict = stateful.check((diff_stack(_stack({"B": BUCKET}), _stack({})),), overrides)
    assert [c.logical_id for c, _ in verdict.blocked] == ["B"]
    assert [o.logical_id for o in verdict.unused] == ["Typo"]
    assert "matches no change" in render.markdown((), verdict, title="t")


ROLE: dict[str, Any] = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "Policies": [
            {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:a"}]}}
        ]
    },
}
GROUP: dict[str, Any] = {
    "Type": "AWS::EC2::SecurityGroup",
    "Properties": {
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}]
    },
}


def test_security_changes_are_classified_and_widening_is_found() -> None:
    wider_role = copy.deepcopy(ROLE)
    wider_role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:a"}
    )
    narrower_group = copy.deepcopy(GROUP)
    narrower_group["Properties"]["SecurityGroupIngress"] = []
    open_group = copy.deepcopy(GROUP)
    open_group["Properties"]["SecurityGroupIngress"][0]["CidrIp"] = "0.0.0.0/0"
    base = _stack({"R": ROLE, "G": GROUP, "H": GROUP})
    head = _stack({"R": wider_role, "G": narrower_group, "H": open_group})
    changes = {c.logical_id: c for c in diff_stack(base, head).resources}
    assert security.categories(changes["R"]) == ("iam",)
    assert security.categories(changes["G"]) == ("network",)
    assert len(security.broadening(changes["R"])) == 1 and "s3:PutObject" in security.broadening(changes["R"])[0]
    assert security.broadening(changes["G"]) == ()  # a removed rule narrows access
    assert "0.0.0.0/0" in security.broadening(changes["H"])[0]
    denying = copy.deepcopy(ROLE)
    denying["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:b"}
    )
    change = diff_stack(_stack({"R": ROLE}), _stack({"R": denying})).resources[0]
    assert security.categories(change) == ("iam",) and security.broadening(change) == ()  # a Deny narrows
    listener = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"SslPolicy": "A"}}
    weaker = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"SslPolicy": "B"}}
    change = diff_stack(_stack({"L": listener}), _stack({"L": weaker})).resources[0]
    assert security.categories(change) == ("listener", "encryption")


def test_an_oversized_review_is_cut_below_githubs_comment_limit() -> None:
    def topics(name: str) -> dict[str, Any]:
        return {f"R{i}": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": name * 150}} for i in range(900)}

    diffs = (diff_stack(_stack(topics("a")), _stack(topics("b"))),)
    text = render.markdown(diffs, stateful.check(diffs, []), title="t")
    assert len(text) <= 65_536 and "cut at" in text


def test_an_unsynthesized_base_is_an_error_not_an_empty_deployment(tmp_path: Path, assembly: Assembly) -> None:
    with pytest.raises(AssemblyError, match="make synth CDK_OUT="):
        load_assembly(tmp_path)
    copy_dir = tmp_path / "copy"
    shutil.copytree(assembly.outdir, copy_dir)
    assert main(["--base", str(tmp_path / "missing"), "--head", str(copy_dir), "--out-dir", str(tmp_path)]) == 2


@pytest.fixture(scope="module")
def stricter_tls_and_subprocessor(app_config: AppConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """eu-west-1 synthesized with two ordinary config changes a reviewer must see: the ALB's TLS
    policy moved to TLS 1.3 only, and the app tier allowed out to a subprocessor's domain (through
    the egress firewall)."""
    from app import build_app

    outdir = tmp_path_factory.mktemp("tls13.out")
    rc = replace(
        app_config.region(REGION),
        tls_policy="ELBSecurityPolicy-TLS13-1-3-2021-06",
        subprocessor_domains=("api.example.com",),
    )
    app, _ = build_app(replace(app_config, regions=(rc,)), outdir=str(outdir))
    app.synth()
    return outdir


def test_a_synthesized_listener_and_egress_change_is_security_relevant_and_replaces_no_data(
    assembly: Assembly, stricter_tls_and_subprocessor: Path
) -> None:
    base = load_assembly(assembly.outdir, region=REGION)
    head = load_assembly(stricter_tls_and_subprocessor, region=REGION)
    diffs = diff_assemblies(base, head)
    changes = [c for d in diffs for c in d.resources]
    listeners = [c for c in changes if c.type == "AWS::ElasticLoadBalancingV2::Listener" and c.action is Action.MODIFY]
    assert len(listeners) == 1
    assert [(pc.dotted, pc.before, pc.after) for pc in listeners[0].changes] == [
        ("Properties.SslPolicy", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06")
    ]
    assert security.categories(listeners[0]) == ("listener", "encryption")
    assert listeners[0].replacement is Replacement.NO  # SslPolicy: No interruption
    network = [c for c in changes if "network" in security.categories(c)]
    assert network, "the egress change must show as a network change"
    verdict = stateful.check(diffs, [])
    assert verdict.ok  # nothing data-holding is replaced or deleted
    text = render.markdown(diffs, verdict, title="t")
    assert "ELBSecurityPolicy-TLS13-1-3-2021-06" in text and "STATEFUL SAFETY" not in text


def test_the_approved_plan_digest_refuses_other_changes(
    assembly: Assembly, renamed_database: Path, tmp_path: Path
) -> None:
    args = ["--base", str(assembly.outdir), "--region", REGION, "--out-dir", str(tmp_path)]
    assert main([*args, "--head", str(assembly.outdir)]) == 0
    approved = json.loads((tmp_path / f"change-review-{REGION}.json").read_text())["digest"]
    assert len(approved) == 64
    assert main([*args, "--head", str(assembly.outdir), "--expect-digest", approved]) == 0
    commits = tmp_path / "commits.txt"
    # the stacks changed after the approval (here: the database rename): refused, whatever the trailers say
    commits.write_text(f"Stateful-Change: replace {DATA}/AuroraClusterAnything: a different change entirely")
    assert main([*args, "--head", str(renamed_database), "--expect-digest", approved, "--commits", str(commits)]) == 1


def _stubbed_cloudformation(region: str) -> tuple[Any, Any]:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("cloudformation", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_the_deployed_templates_are_read_with_getTemplate_and_a_missing_stack_is_new() -> None:
    """CloudFormation's real API shapes (botocore's Stubber validates the request and response):
    TemplateStage=Original is what was submitted, the same form as cdk.out. Each stack is read in
    its own region (the DR vault stack lives in the DR region)."""
    from change_review.assembly import deployed_templates

    here, here_stub = _stubbed_cloudformation(REGION)
    dr, dr_stub = _stubbed_cloudformation("eu-central-1")
    body = {"Resources": {"B": BUCKET}}
    here_stub.add_response(
        "get_template",
        {"TemplateBody": json.dumps(body), "StagesAvailable": ["Original", "Processed"]},
        {"StackName": DATA, "TemplateStage": "Original"},
    )
    dr_stub.add_client_error(
        "get_template",
        service_error_code="ValidationError",
        service_message="Stack with id trustbase-eu-west-1-dr-vault does not exist",
        expected_params={"StackName": "trustbase-eu-west-1-dr-vault", "TemplateStage": "Original"},
    )
    here_stub.add_client_error(
        "get_template",
        service_error_code="AccessDenied",
        service_message="not authorized to perform: cloudformation:GetTemplate",
        expected_params={"StackName": "trustbase-eu-west-1-keys", "TemplateStage": "Original"},
    )
    clients = {REGION: here, "eu-central-1": dr}
    wanted = [_stack({}, DATA), StackTemplate("trustbase-eu-west-1-dr-vault", "eu-central-1", {})]
    with here_stub, dr_stub:
        found = deployed_templates(clients.__getitem__, wanted)
        assert list(found) == [DATA] and found[DATA].resources == body["Resources"]
        with pytest.raises(here.exceptions.ClientError, match="AccessDenied"):  # never read as "not deployed"
            deployed_templates(clients.__getitem__, [_stack({}, "trustbase-eu-west-1-keys")])


def test_the_home_regions_job_reviews_the_identity_stack_too(assembly: Assembly, tmp_path: Path) -> None:
    """us-east-1 is Identity Center's home region in the shipped config: its deploy job deploys
    trustbase-identity as well, so the plan reads it; eu-west-1's job does not."""
    us = list(load_assembly(assembly.outdir, region="us-east-1"))  # the order they are read in
    assert "trustbase-identity" in us and "trustbase-organization" not in us
    assert set(us) - {"trustbase-identity"} == {
        f"trustbase-us-east-1-{p}"
        for p in ("keys", "network", "data", "migrations", "edge", "audit", "detection", "lifecycle", "cicd")
    }
    assert "trustbase-identity" not in load_assembly(assembly.outdir, region=REGION)
    client, stub = _stubbed_cloudformation("us-east-1")
    for name in us:  # every stack deployed as synthesized: nothing changes
        stub.add_response(
            "get_template",
            {"TemplateBody": json.dumps(assembly.template(name))},
            {"StackName": name, "TemplateStage": "Original"},
        )
    with stub:
        status = main(
            ["--deployed", "--region", "us-east-1", "--head", str(assembly.outdir), "--out-dir", str(tmp_path)],
            client_for=lambda region: client,
        )
    assert status == 0
    review = json.loads((tmp_path / "change-review-us-east-1.json").read_text())
    assert review["summary"]["stacks_changed"] == 0 and len(review["stacks"]) == 10


def test_stateful_changes_the_first_review_missed() -> None:
    """A bucket turned into another type is a bucket lost; a new Condition can delete it; an
    unrelated new bucket is not a rename of a deleted one."""
    queue = {"Type": "AWS::SNS::Topic", "Properties": {}}
    conditional = {**BUCKET, "Condition": "InEurope"}
    other = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"BucketName": "z", "VersioningConfiguration": {"Status": "Enabled"}},
    }
    diffs = (
        diff_stack(
            _stack(
                {"Typed": BUCKET, "Cond": BUCKET, "Old": {**BUCKET, "Properties": {"BucketName": "a", "Tags": [1]}}}
            ),
            _stack({"Typed": queue, "Cond": conditional, "New": other}),
        ),
    )
    verdict = stateful.check(diffs, [])
    assert sorted((c.logical_id, k) for c, k in verdict.blocked) == [
        ("Cond", "delete"),
        ("Old", "delete"),
        ("Typed", "removal-policy"),  # a topic has no Retain
        ("Typed", "replace"),
    ]
    assert not [c for c in diffs[0].resources if c.action is Action.RENAME]


def test_widening_counts_what_cdk_asks_about_and_removed_denials() -> None:
    role: dict[str, Any] = {
        "Type": "AWS::IAM::Role",
        "Properties": {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
    }
    admin = copy.deepcopy(role)
    admin["Properties"]["ManagedPolicyArns"].append("arn:aws:iam::aws:policy/AdministratorAccess")
    tls_only: dict[str, Any] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "arn:b",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ]
            }
        },
    }
    opened = copy.deepcopy(tls_only)
    opened["Properties"]["PolicyDocument"]["Statement"] = []
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction", "Principal": "*", "FunctionName": "f"},
    }
    changes = {
        c.logical_id: c
        for c in diff_stack(
            _stack({"R": role, "P": tls_only}), _stack({"R": admin, "P": opened, "L": permission})
        ).resources
    }
    assert security.broadening(changes["R"]) == ('managed policy "arn:aws:iam::aws:policy/AdministratorAccess"',)
    assert security.broadening(changes["P"])[0].startswith("denial removed ")
    assert security.broadening(changes["L"])[0].startswith("lambda permission ")
    assert security.categories(changes["L"]) == ("resource-policy",)


def test_widening_also_counts_deleted_denials_attachments_public_access_and_open_urls() -> None:
    tls_only: dict[str, Any] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}},
    }
    policy: dict[str, Any] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Roles": ["a"], "PolicyDocument": {}}}
    attached = copy.deepcopy(policy)
    attached["Properties"]["Roles"].append("b")
    permission_set: dict[str, Any] = {"Type": "AWS::SSO::PermissionSet", "Properties": {"ManagedPolicies": []}}
    admin_set = copy.deepcopy(permission_set)
    admin_set["Properties"]["ManagedPolicies"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    blocked = {"Type": "AWS::S3::Bucket", "Properties": {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}}}
    unblocked = {"Type": "AWS::S3::Bucket", "Properties": {}}
    url = {"Type": "AWS::Lambda::Url", "Properties": {"AuthType": "NONE", "TargetFunctionArn": "f"}}
    changes = {
        c.logical_id: c
        for c in diff_stack(
            _stack({"P": tls_only, "M": policy, "S": permission_set, "B": blocked}),
            _stack({"M": attached, "S": admin_set, "B": unblocked, "U": url}),
        ).resources
    }
    assert security.broadening(changes["P"])[0].startswith("denial removed ")  # the whole policy deleted
    assert security.broadening(changes["M"]) == ('attached: Roles "b"',)
    assert security.broadening(changes["S"]) == (
        'attached: managed policy "arn:aws:iam::aws:policy/AdministratorAccess"',
    )
    assert security.broadening(changes["B"]) == ("public access block removed",)
    assert "bucket-policy" in security.categories(changes["B"])
    assert security.broadening(changes["U"]) == ("function URL with AuthType NONE",)


def test_a_redefined_condition_can_delete_the_data_that_uses_it() -> None:
    """The bucket's own Condition is unchanged, but the condition it names (through another one)
    now evaluates differently: CloudFormation would delete the bucket."""

    def stack(region: str) -> StackTemplate:
        return StackTemplate(
            DATA,
            REGION,
            {
                "Conditions": {
                    "InRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, region]},
                    "KeepData": {"Fn::And": [{"Condition": "InRegion"}, {"Fn::Equals": ["a", "a"]}]},
                },
                "Resources": {"B": {**BUCKET, "Condition": "KeepData"}, "T": {"Type": "AWS::SNS::Topic"}},
            },
        )

    diff = diff_stack(stack("eu-west-1"), stack("eu-west-2"))
    verdict = stateful.check((diff,), [])
    assert [(c.logical_id, k) for c, k in verdict.blocked] == [("B", "delete")]
    dropped = diff_stack(_stack({"B": {**BUCKET, "Condition": "KeepData"}}), _stack({"B": BUCKET}))
    assert stateful.check((dropped,), []).ok  # removing a Condition deletes nothing


def test_an_assembly_from_a_pull_request_is_read_as_data_only(tmp_path: Path) -> None:
    """The verdict reads the pull request's assembly: a template outside it, a huge file or a broken
    manifest is an error (exit 2), never a file read elsewhere or a crash taken for a verdict."""
    outside = tmp_path / "secret.json"
    outside.write_text('{"Resources": {}}')
    assembly_dir = tmp_path / "cdk.out"
    assembly_dir.mkdir()
    stack = {"type": "aws:cloudformation:stack", "environment": "aws://1/eu-west-1"}

    def manifest(artifacts: Any) -> None:
        (assembly_dir / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))

    manifest({"s": {**stack, "properties": {"templateFile": "../secret.json", "stackName": DATA}}})
    with pytest.raises(AssemblyError, match="not a file of the assembly"):
        load_assembly(assembly_dir)
    manifest({"s": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "t.json"}}})
    with pytest.raises(AssemblyError, match="a stack artifact without"):
        load_assembly(assembly_dir)
    (assembly_dir / "t.json").write_text('["not", "a", "template"]')
    manifest({"s": {**stack, "properties": {"templateFile": "t.json", "stackName": DATA}}})
    with pytest.raises(AssemblyError, match="not a CloudFormation template"):
        load_assembly(assembly_dir)
    assert main(["--base", str(assembly_dir), "--head", str(assembly_dir), "--out-dir", str(tmp_path / "r")]) == 2


def test_a_gate_log_cannot_close_its_fence_in_the_comment() -> None:
    log = "ok\n```\n### Gates: passed\n````\n@everyone"
    text = render.markdown((), stateful.check((), []), title="t", gate_log=log, gate_ok=False)
    fence = "`````"  # longer than the longest run of backticks in the log (4)
    assert f"{fence}\nok\n```\n### Gates: passed\n````\n@everyone\n{fence}" in text
    assert "### Gates: FAILED" in text


def test_widening_also_counts_an_opened_egress_an_allowing_acl_entry_and_string_policies() -> None:
    closed = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "SecurityGroupEgress": [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic"}]
        },
    }
    opened = {"Type": "AWS::EC2::SecurityGroup", "Properties": {}}
    deny_entry = {"Type": "AWS::EC2::NetworkAclEntry", "Properties": {"RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}}
    allow_entry = {"Type": "AWS::EC2::NetworkAclEntry", "Properties": {"RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}}
    statement = {"Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "logs:*"}
    logs_policy = {
        "Type": "AWS::Logs::ResourcePolicy",
        "Properties": {"PolicyName": "p", "PolicyDocument": json.dumps({"Statement": [statement]})},
    }
    changes = {
        c.logical_id: c
        for c in diff_stack(
            _stack({"G": closed, "A": deny_entry}), _stack({"G": opened, "A": allow_entry, "L": logs_policy})
        ).resources
    }
    assert security.broadening(changes["G"]) == ("egress rules removed: the group allows all outbound traffic",)
    assert security.broadening(changes["A"])[0].startswith("network ACL entry allows ")
    assert security.broadening(changes["L"])[0].startswith('statement {"Action": "logs:*"')
