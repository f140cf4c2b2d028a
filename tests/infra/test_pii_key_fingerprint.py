"""The PII key's fingerprint: pinned in config, passed to the job, checked before a run pseudonymizes anything."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

import pytest
from aws_cdk import assertions
from aws_cdk.assertions import Match

from glue_jobs.process_posts.arguments import UNCHECKED_FINGERPRINT, JobArguments
from glue_jobs.process_posts.glue_entry import PiiKeyMismatchError, check_pii_key
from infra.config import EnvironmentConfig
from lakehouse.domain.pii import DEVELOPMENT_KEY, key_fingerprint

KEY = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:reddit-lakehouse-prod/pii-hmac-key"


def test_fingerprint_is_the_keys_sha256_prefix_as_an_operator_computes_it() -> None:
    # printf %s "$KEY" | sha256sum | cut -c1-16
    assert key_fingerprint(KEY) == hashlib.sha256(KEY).hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", key_fingerprint(DEVELOPMENT_KEY))
    assert key_fingerprint(KEY) != key_fingerprint(KEY[:-1] + b"0")


def test_the_environments_own_key_passes() -> None:
    check_pii_key(KEY, expected_fingerprint=key_fingerprint(KEY), secret_arn=ARN)


def test_another_key_fails_the_run_naming_both_fingerprints_and_the_secret() -> None:
    other = b"a regenerated key that made new pseudonyms for everyone"
    expected = key_fingerprint(KEY)
    message = (
        f"the PII key in {ARN} is not the one this environment's pseudonyms were made with: "
        f"fingerprint {key_fingerprint(other)}, expected {expected}"
    )
    with pytest.raises(PiiKeyMismatchError, match=f"^{re.escape(message)}$"):
        check_pii_key(other, expected_fingerprint=expected, secret_arn=ARN)


def test_an_unchecked_environment_accepts_any_key() -> None:
    check_pii_key(b"whatever dev generated", expected_fingerprint=UNCHECKED_FINGERPRINT, secret_arn=ARN)
    # The sentinel can never be mistaken for a fingerprint (hex only).
    assert not re.fullmatch(r"[0-9a-f]+", UNCHECKED_FINGERPRINT)


def test_the_fingerprint_is_a_job_argument_read_back_by_the_entry_point() -> None:
    arguments = JobArguments(
        raw_uri="s3://raw/",
        processed_uri="s3://processed/",
        quarantine_uri="s3://quarantine/",
        pii_secret_arn=ARN,
        metrics_namespace="RedditLakehouse",
        environment="prod",
        pii_key_fingerprint=key_fingerprint(KEY),
        runs_uri="s3://raw/runs/",
    )
    glue = arguments.to_glue()
    assert glue["--pii_key_fingerprint"] == key_fingerprint(KEY)
    resolved = {name.removeprefix("--"): value for name, value in glue.items()}
    assert JobArguments.from_resolved(resolved) == arguments


@pytest.mark.cdk
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_job_is_given_its_environments_fingerprint(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    expected = configs[env].secrets.pii_key_fingerprint or UNCHECKED_FINGERPRINT
    if configs[env].retain_data:
        assert expected != UNCHECKED_FINGERPRINT  # config validation makes prod pin it
    templates[env].has_resource_properties(
        "AWS::Glue::Job",
        {"DefaultArguments": Match.object_like({"--pii_key_fingerprint": expected})},
    )
