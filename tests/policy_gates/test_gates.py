"""checkov, cfn-lint and our own checks over every synthesized template; and proof that the
gate catches a known-bad template (a gate that cannot fail proves nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy_gates import CheckovFailure, GateResult, Skip, apply_skips, evaluate, load_skips, run_checkov, templates_in
from tests.conftest import Assembly

BAD_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "PlainBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Misspelt": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}},
        "GreedyPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            },
        },
        "Lb": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Subnets": ["subnet-1", "subnet-2"], "Type": "application"},
        },
        "WeakTls": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "Lb"},
                "Port": 443,
                "Protocol": "HTTPS",
                "SslPolicy": "ELBSecurityPolicy-2016-08",
                "Certificates": [{"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"}],
                "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
            },
        },
    },
}


@pytest.fixture(scope="module")
def bad_result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    outdir = tmp_path_factory.mktemp("bad")
    (outdir / "bad.template.json").write_text(json.dumps(BAD_TEMPLATE))
    return evaluate(outdir, skips=[], report_stale=False)


@pytest.fixture(scope="module")
def real_checkov_failures(assembly: Assembly) -> list[CheckovFailure]:
    return run_checkov(templates_in(assembly.outdir))


@pytest.fixture(scope="module")
def real_result(assembly: Assembly, real_checkov_failures: list[CheckovFailure]) -> GateResult:
    return evaluate(assembly.outdir, checkov_failures=real_checkov_failures)


def test_every_synthesized_template_passes_all_gates(real_result: GateResult) -> None:
    assert real_result.ok, real_result.report()
    assert real_result.checkov_skipped, "the listed skips should each match a real finding"


def test_gate_catches_an_unencrypted_bucket(bad_result) -> None:  # type: ignore[no-untyped-def]
    # checkov 3 no longer flags a bucket without SSE (S3 encrypts by default since 2023);
    # our own check requires explicit SSE, and checkov still flags the rest of the bucket.
    assert any("PlainBucket: no default encryption" in f for f in bad_result.own), bad_result.report()
    assert any("PlainBucket" in f and "CKV_AWS_53" in f for f in bad_result.checkov)


def test_gate_catches_a_wildcard_action(bad_result) -> None:  # type: ignore[no-untyped-def]
    assert any("GreedyPolicy" in f for f in bad_result.checkov), bad_result.report()
    assert any("GreedyPolicy: Allow with wildcard action '*'" in f for f in bad_result.own)


def test_gate_catches_a_weak_tls_policy(bad_result) -> None:  # type: ignore[no-untyped-def]
    # Neither checkov nor cfn-lint flags ELBSecurityPolicy-2016-08: our own check must.
    assert any("WeakTls: SslPolicy 'ELBSecurityPolicy-2016-08'" in f for f in bad_result.own), bad_result.report()
    assert any("WeakTls: no HSTS" in f for f in bad_result.own)
    assert not bad_result.ok


def test_gate_flags_cfn_lint_errors(bad_result) -> None:  # type: ignore[no-untyped-def]
    # one cfn-lint and one checkov run serve every planted-defect test of this module
    assert any("E3002" in f and "NoSuchProperty" in f for f in bad_result.cfn_lint), bad_result.report()


def test_a_stale_skip_fails_the_gate(real_checkov_failures: list[CheckovFailure], assembly: Assembly) -> None:
    active = [s for s in load_skips() if s.active(assembly.config)]
    skips = [*active, Skip(check="CKV_AWS_18", resources=("NoSuchResource*",), reason="x" * 30)]
    unlisted, _, stale = apply_skips(real_checkov_failures, skips)
    assert unlisted == [] and stale == ["CKV_AWS_18 ['NoSuchResource*']: matches no failed check any more"]


def test_a_skip_tied_to_a_config_flag_applies_only_with_it(assembly: Assembly) -> None:
    """The operator host's skip is inactive while no region turns operator_access on (its resource is
    not synthesized, so it can be neither used nor stale); the lifecycle functions' concurrency skip
    is active while reserve_lambda_concurrency is off."""
    from dataclasses import replace

    by_check = {(s.check, s.when): s for s in load_skips() if s.when}
    operator = by_check[("CKV_AWS_111", "operator_access")]
    concurrency = by_check[("CKV_AWS_115", "not reserve_lambda_concurrency")]
    cfg = assembly.config
    assert not operator.active(cfg) and concurrency.active(cfg)
    on = replace(
        cfg, regions=tuple(replace(r, operator_access=True, reserve_lambda_concurrency=True) for r in cfg.regions)
    )
    assert operator.active(on) and not concurrency.active(on)


def test_removing_a_skip_fails_the_gate(real_checkov_failures: list[CheckovFailure]) -> None:
    skips = [s for s in load_skips() if s.check != "CKV_AWS_260"]
    unlisted, _, _ = apply_skips(real_checkov_failures, skips)
    assert unlisted and all("CKV_AWS_260" in u and "TiersAlb" in u for u in unlisted)


def test_skips_need_resources_and_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "skips.toml"
    bad.write_text('[[skip]]\ncheck = "CKV_AWS_18"\nresources = ["X*"]\nreason = "short"\n')
    with pytest.raises(ValueError, match="reason of >= 20 chars"):
        load_skips(bad)
