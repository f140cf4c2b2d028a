"""Policy statements for using the lake key through one AWS service: written once, used by every role."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager


def via_service(service: str, region: str) -> dict[str, Any]:
    """The condition that limits a key grant to calls ``service`` makes on the caller's behalf."""
    return {"kms:ViaService": f"{service}.{region}.amazonaws.com"}


def read_secret(sid: str, secret: secretsmanager.ISecret, key: kms.IKey, region: str) -> list[iam.PolicyStatement]:
    """Read one secret and decrypt it with the lake key, only through Secrets Manager, only that secret."""
    return [
        iam.PolicyStatement(sid=f"Read{sid}", actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn]),
        iam.PolicyStatement(
            sid=f"Decrypt{sid}",
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {
                    **via_service("secretsmanager", region),
                    "kms:EncryptionContext:SecretARN": secret.secret_arn,
                }
            },
        ),
    ]
