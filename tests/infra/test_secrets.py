"""The two secrets as synthesized: generated where the stack is disposable, referenced where data is retained,
and readable by their one role only, whatever else the account grants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from aws_cdk import assertions
from aws_cdk.assertions import Capture, Match

from infra.config import EnvironmentConfig
from tests.infra.templates import (
    as_list,
    glue_role_id,
    ingest_function,
    one,
    pii_secret,
    reddit_secret,
    referenced_secret_arn,
    role_statements,
    secret_arns,
)

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
Finder = Callable[[assertions.Template], tuple[str, dict[str, Any]]]


def _ingest_role(template: assertions.Template) -> str:
    _, function = ingest_function(template)
    role_id: str = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id


# (name in config, how to find the generated secret, the role that alone reads it)
SECRETS: dict[str, tuple[str, Finder, Callable[[assertions.Template], str]]] = {
    "reddit": ("reddit_secret_name", reddit_secret, _ingest_role),
    "pii_key": ("pii_key_secret_name", pii_secret, glue_role_id),
}


def _existing_name(config: EnvironmentConfig, which: str) -> str | None:
    name: str | None = getattr(config.secrets, SECRETS[which][0])
    return name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environments_that_retain_data_generate_no_secret(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    """A generated secret is replaced with the stack (or an edit of its generator); a referenced one never is."""
    template, config = templates[env], configs[env]
    generated = template.find_resources("AWS::SecretsManager::Secret")
    if config.retain_data:
        assert generated == {}
    else:
        # Dev: both generated, encrypted with the lake key, gone with the stack.
        assert len(generated) == 2
        template.all_resources("AWS::SecretsManager::Secret", {"DeletionPolicy": "Delete"})


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("which", sorted(SECRETS))
def test_each_secret_denies_its_value_to_every_principal_but_its_reader(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str, which: str
) -> None:
    template, config = templates[env], configs[env]
    _, finder, reader = SECRETS[which]
    name = _existing_name(config, which)
    # A referenced secret's policy attaches by name; a generated one's by its ARN (Ref).
    secret_id = name if name is not None else {"Ref": finder(template)[0]}
    principals = Capture()
    one(
        template,
        "AWS::SecretsManager::ResourcePolicy",
        {
            "SecretId": secret_id,
            "BlockPublicPolicy": True,
            "ResourcePolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": Match.any_value(),
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        # Only the value: administrators still describe, update and re-policy the secret.
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:PrincipalArn": principals}},
                    }
                ],
            },
        },
    )
    assert principals.as_array() == [{"Fn::GetAtt": [reader(template), "Arn"]}]
    # One policy per secret, nothing else in the stack carries one.
    template.resource_count_is("AWS::SecretsManager::ResourcePolicy", len(SECRETS))


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("which", sorted(SECRETS))
def test_only_its_reader_is_granted_the_secret_and_a_referenced_one_by_its_exact_name(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str, which: str
) -> None:
    template, config = templates[env], configs[env]
    _, finder, reader = SECRETS[which]
    name = _existing_name(config, which)
    _, grant = secret_arns(template, name, finder)
    if name is not None:
        # Secrets Manager's six random characters, and nothing else: never '*'.
        assert grant == referenced_secret_arn(name, suffix="-??????")
    readers = {
        role_id
        for role_id in template.find_resources("AWS::IAM::Role")
        for statement in role_statements(template, role_id)
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"]) and grant in as_list(statement["Resource"])
    }
    assert readers == {reader(template)}


def test_prod_names_the_secrets_it_was_configured_with(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig]
) -> None:
    """The ARNs the code receives are the configured names' (Secrets Manager resolves the partial ARN)."""
    template, config = templates["prod"], configs["prod"]
    assert config.secrets.reddit_secret_name is not None
    assert config.secrets.pii_key_secret_name is not None
    _, function = ingest_function(template)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["REDDIT_SECRET_ARN"] == referenced_secret_arn(config.secrets.reddit_secret_name)
    template.has_resource_properties(
        "AWS::Glue::Job",
        {
            "DefaultArguments": Match.object_like(
                {"--pii_secret_arn": referenced_secret_arn(config.secrets.pii_key_secret_name)}
            )
        },
    )
