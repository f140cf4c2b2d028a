"""A secret the stack generates (dev) or only references (where data is retained), readable by one role.

Where an environment retains data (``removal_policy: retain``, prod) its secrets are created out
of band, once, and the stack references them by name (``cdk.json`` ``environments.<env>.secrets``).
No deployment can then regenerate them: a generated secret is replaced whenever its generator
settings change or the stack is re-created, and a replaced PII key gives every author a new
pseudonym. Config validation refuses a retaining environment that does not name both.

Creating them (an operator, once per environment, before its first deployment)::

    aws secretsmanager create-secret --name reddit-lakehouse-prod/reddit-credentials \\
        --description "Reddit OAuth app credentials of reddit-lakehouse-prod-ingest" \\
        --secret-string '{"client_id": "...", "client_secret": "...",
                          "user_agent": "<platform>:<app id>:<version> (by /u/<name>)"}'

    key="$(openssl rand -hex 32)"   # the key is the secret string's UTF-8 bytes
    aws secretsmanager create-secret --name reddit-lakehouse-prod/pii-hmac-key \\
        --description "HMAC key of reddit-lakehouse-prod's author pseudonyms; never rotate or replace it" \\
        --secret-string "$key"
    printf %s "$key" | sha256sum | cut -c1-16   # -> secrets.pii_key_fingerprint in cdk.json
    unset key

Leave out ``--kms-key-id``: the secrets are then encrypted with the account's ``aws/secretsmanager``
key, whose key policy lets principals of the account use it only through Secrets Manager, so access
is exactly what IAM and the secret's resource policy allow, and the secret does not depend on a key
this stack owns (a re-created stack gets a new lake key). Never delete them: ``delete-secret``
schedules the deletion (``restore-secret`` undoes it within the recovery window). An environment
already deployed with a generated secret can keep its key: name that secret (the ``PiiSecretArn``
output's name, without the six-character suffix); its ``Retain`` policy keeps it when the stack
stops managing it.

Every secret, generated or referenced, gets a resource policy (:func:`restrict_reads`) that denies
``secretsmanager:GetSecretValue`` to every principal but the role that needs the value, so an
account-wide read grant (an administrator's, an audit role's) cannot reach it; managing the
secret (describing, putting a new value, changing the policy) stays with the account's admins.
``AWS::SecretsManager::ResourcePolicy`` takes a secret's name or ARN, so it attaches to a
referenced secret as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.key_grants import via_service
from infra.constructs.nag import acknowledge

__all__ = ["StackSecret", "restrict_reads", "stack_secret"]

# Secrets Manager ends every secret's ARN with "-" and six random characters.
_ARN_SUFFIX_PATTERN = "-??????"


@dataclass(frozen=True, slots=True)
class StackSecret:
    """A secret and whether this stack generated it (and so owns it) or references it by name."""

    secret: secretsmanager.ISecret
    generated: bool

    @property
    def arn(self) -> str:
        """What the code is given: the complete ARN of a generated secret, the partial ARN (no suffix) otherwise."""
        return self.secret.secret_arn

    @property
    def policy_arn(self) -> str:
        """The ARN IAM matches: a referenced secret's complete ARN ends in a suffix unknown here.

        ``<name>-??????`` matches that one secret's ARN (``?`` is exactly one character) and no other
        secret's; ``*`` would also match ``<name>-anything``. cdk-nag's IAM5 reports only ``*``.
        """
        return self.arn if self.generated else f"{self.arn}{_ARN_SUFFIX_PATTERN}"

    def read_statements(self, sid: str, key: kms.IKey, region: str) -> list[iam.PolicyStatement]:
        """Read this secret; for a generated one also decrypt it with ``key``, through Secrets Manager only.

        A referenced secret is encrypted with ``aws/secretsmanager``, whose key policy already allows
        exactly that use: no key grant is needed, and none is given.
        """
        statements = [
            iam.PolicyStatement(
                sid=f"Read{sid}", actions=["secretsmanager:GetSecretValue"], resources=[self.policy_arn]
            )
        ]
        if self.generated:
            statements.append(
                iam.PolicyStatement(
                    sid=f"Decrypt{sid}",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {
                            **via_service("secretsmanager", region),
                            "kms:EncryptionContext:SecretARN": self.arn,
                        }
                    },
                )
            )
        return statements


def stack_secret(
    scope: Construct,
    construct_id: str,
    *,
    existing_name: str | None,
    description: str,
    generator: secretsmanager.SecretStringGenerator,
    encryption_key: kms.IKey,
    removal_policy: cdk.RemovalPolicy,
    no_rotation_reason: str,
) -> StackSecret:
    """The secret named ``existing_name``, or (``None``) a generated one at ``scope/construct_id``.

    A generated secret keeps the construct path it always had, so environments that generate
    their secrets keep them across this change.
    """
    if existing_name is not None:
        return StackSecret(
            secret=secretsmanager.Secret.from_secret_name_v2(scope, construct_id, existing_name), generated=False
        )
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        description=description,
        encryption_key=encryption_key,
        generate_secret_string=generator,
        removal_policy=removal_policy,
    )
    acknowledge(secret, "AwsSolutions-SMG4", no_rotation_reason)
    return StackSecret(secret=secret, generated=True)


def restrict_reads(
    scope: Construct, construct_id: str, secret: StackSecret, readers: Sequence[iam.IRole]
) -> secretsmanager.CfnResourcePolicy:
    """Deny ``GetSecretValue`` to every principal except ``readers`` (and only that action)."""
    if not readers:
        raise ValueError(f"{construct_id}: a secret nobody may read is a mistake")
    document = iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="OnlyItsReaderGetsTheValue",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["secretsmanager:GetSecretValue"],
                resources=["*"],
                conditions={"StringNotEquals": {"aws:PrincipalArn": [role.role_arn for role in readers]}},
            )
        ]
    )
    return secretsmanager.CfnResourcePolicy(
        scope,
        construct_id,
        # A referenced secret by name: the partial ARN is a lookup hint, the name is its identity.
        secret_id=secret.arn if secret.generated else secret.secret.secret_name,
        resource_policy=document,
        block_public_policy=True,
    )
