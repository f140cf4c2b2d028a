"""The scoring Lambda: the run's Score step, which assesses problem posts as product opportunities with Bedrock.

The runtime code lives in ``lambdas/score`` (handler, prompts, backends, batch inference) and
``lakehouse`` (the manifests' layout, the tables, the metric names); this construct packages them
without Docker and gives the function exactly the access the code exercises (the S3 layout is
:mod:`lambdas.score.layout`'s, the same module the code derives its keys from):

- processed zone: list and read ``posts/`` and ``comments/``;
- analytics zone: list, read and write ``opportunity_scores/``, ``llm_costs/`` and ``batch_inference/``
  (the scores file is replaced in place and ledger parts only added: nothing is ever deleted);
- raw zone: list and read the run manifests under ``runs/``, write only ``runs/<run_id>/score.json``;
- the lake key through S3 for those three buckets only;
- ``bedrock:InvokeModel`` (what authorizes Converse) on exactly the configured model. An inference
  profile id (``us.anthropic...``) is granted as the profile plus the foundation model in each
  region the profile routes to, the latter only through that profile (``bedrock:InferenceProfileArn``);
- with batch inference enabled (prod), a service role Bedrock assumes for the jobs of this account
  (read the records under ``batch_inference/*/input/``, write results under ``batch_inference/*/output/``,
  invoke the same model), and for the function: create and read those jobs, pass that role to
  Bedrock only, and read the model's "minimum records per job" quota. Disabled (dev): none of it exists.

Its metrics leave as EMF in its own log group, so it needs no CloudWatch permission.

Reserved concurrency 1: one scorer at a time. The selection of what to score (posts whose content
hash and prompt version have no score yet, minus the posts a batch job holds) and the budget are per
invocation; two overlapping runs scoring at once would both select, and pay for, the same posts. The
second is throttled instead, and the state machine waits it out (its Score task retries throttling).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import LlmConfig
from infra.constructs.encrypted_log_group import EncryptedLogGroup
from infra.constructs.key_grants import via_service
from infra.constructs.lambda_defaults import (
    RUN_MANIFESTS,
    acknowledge_function_defaults,
    function_sources,
    run_manifest_statements,
    stage_manifest,
)
from infra.constructs.nag import acknowledge, iam5_resource_finding
from infra.constructs.python_bundling import PipLocalBundling, pip_bundling, python_lambda_code
from lakehouse.pipeline import RUNS_PREFIX, Stage
from lambdas.score.layout import BATCH_PREFIX, COSTS_PREFIX, SCORES_PREFIX, SOURCE_PREFIXES
from lambdas.score.settings import Backend, ScoreSettings

__all__ = [
    "ANALYTICS_OBJECTS",
    "BATCH_INPUTS",
    "BATCH_OUTPUTS",
    "BEDROCK_SERVICE",
    "SCORE_ARCHITECTURE",
    "SCORE_HANDLER",
    "SCORE_MANIFEST",
    "SCORE_RESERVED_CONCURRENCY",
    "SCORE_RUNTIME",
    "SOURCE_OBJECTS",
    "ScoreFunction",
    "score_bundling",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCORE_HANDLER = "lambdas.score.handler.handler"
SCORE_RUNTIME = lambda_.Runtime.PYTHON_3_12
# Graviton, as the other functions: it mostly waits on Bedrock.
SCORE_ARCHITECTURE = lambda_.Architecture.ARM_64
SCORE_REQUIREMENTS = PROJECT_ROOT / "lambdas" / "score" / "requirements.txt"
# The package holds lambdas/score whole, its prompts (lambdas/score/prompts/**) included.
SCORE_SOURCES = function_sources("score")
# One scorer at a time (see the module's docstring): overlapping runs never pay for the same post.
SCORE_RESERVED_CONCURRENCY = 1

# What it reads in the processed zone, and what it reads and writes in the analytics zone.
SOURCE_OBJECTS = tuple(f"{prefix}*" for prefix in SOURCE_PREFIXES)
ANALYTICS_OBJECTS = tuple(f"{prefix}*" for prefix in (SCORES_PREFIX, COSTS_PREFIX, BATCH_PREFIX))
# Every stage's manifests of every run (the function finds its own, a rerun's, by listing), and the one it writes.
SCORE_MANIFEST = stage_manifest(Stage.SCORE)
# What a batch job reads and writes (lambdas.score.layout: batch_input_key, batch_output_prefix).
BATCH_OBJECTS = f"{BATCH_PREFIX}*"
BATCH_INPUTS = f"{BATCH_PREFIX}*/input/*"
BATCH_OUTPUTS = f"{BATCH_PREFIX}*/output/*"
BEDROCK_SERVICE = "bedrock.amazonaws.com"


def score_bundling() -> PipLocalBundling:
    """The exact bundler the function's asset uses, for tests that build and measure the package."""
    return pip_bundling(
        sources=SCORE_SOURCES,
        requirements_file=SCORE_REQUIREMENTS,
        runtime=SCORE_RUNTIME,
        architecture=SCORE_ARCHITECTURE,
    )


@dataclasses.dataclass(frozen=True)
class _ModelResources:
    """What invoking the configured model touches: the model itself, or a profile and the models behind it."""

    profile_arn: str | None
    foundation_model_arns: tuple[str, ...]

    def statements(self, sid: str, actions: list[str]) -> list[iam.PolicyStatement]:
        """``actions`` on exactly the configured model; behind a profile, on its models only through it."""
        if self.profile_arn is None:
            return [iam.PolicyStatement(sid=sid, actions=actions, resources=list(self.foundation_model_arns))]
        return [
            iam.PolicyStatement(sid=f"{sid}ThroughProfile", actions=actions, resources=[self.profile_arn]),
            # The profile routes each call to one of its regions' foundation model, which IAM authorizes
            # too: only through this profile, never directly (nor in another region).
            iam.PolicyStatement(
                sid=f"{sid}BehindProfile",
                actions=actions,
                resources=list(self.foundation_model_arns),
                conditions={"StringEquals": {"bedrock:InferenceProfileArn": self.profile_arn}},
            ),
        ]


class ScoreFunction(Construct):
    """Scores a run's unscored problem posts within its budget; records ``score.json`` and the cost ledger."""

    function: lambda_.Function
    role: iam.Role
    access_policy: iam.Policy
    log_group: EncryptedLogGroup
    batch_role: iam.Role | None
    batch_access_policy: iam.Policy | None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        environment: str,
        settings: LlmConfig,
        encryption_key: kms.IKey,
        processed_bucket: s3.IBucket,
        analytics_bucket: s3.IBucket,
        raw_bucket: s3.IBucket,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        log_level: str = "INFO",
    ) -> None:
        """``settings``: the environment's ``llm`` section (model, budget, batch, memory and timeout)."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        function_name = f"{resource_prefix}-score"
        self._encryption_key = encryption_key
        self._region = stack.region
        self._model = self._model_resources(settings)
        self._job_arns = stack.format_arn(
            service="bedrock",
            resource="model-invocation-job",
            resource_name="*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

        self.log_group = EncryptedLogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{function_name}",
            encryption_key=encryption_key,
            retention_in_days=log_retention_days,
            removal_policy=removal_policy,
        )
        self.batch_role = None
        self.batch_access_policy = None
        policy = settings.policy
        if policy.batch.enabled:
            self.batch_role, self.batch_access_policy = self._batch_role(function_name, analytics_bucket)
            # The code passes this role to CreateModelInvocationJob; it reads it from its scoring policy.
            policy = dataclasses.replace(
                policy, batch=dataclasses.replace(policy.batch, role_arn=self.batch_role.role_arn)
            )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=(
                f"Execution role of {function_name}: reads processed posts and run manifests, writes scores, "
                "the cost ledger and score.json, invokes the configured Bedrock model."
            ),
        )
        self.access_policy = iam.Policy(
            self,
            "AccessPolicy",
            roles=[self.role],
            statements=[
                *self._access_statements(
                    processed_bucket=processed_bucket, analytics_bucket=analytics_bucket, raw_bucket=raw_bucket
                ),
                *self._model.statements("InvokeModel", ["bedrock:InvokeModel"]),
                *self._batch_statements(),
            ],
        )
        self._acknowledge_access_wildcards(processed_bucket, analytics_bucket, raw_bucket)

        score_settings = ScoreSettings(
            environment=environment,
            processed_uri=f"s3://{processed_bucket.bucket_name}/",
            analytics_uri=f"s3://{analytics_bucket.bucket_name}/",
            runs_uri=f"s3://{raw_bucket.bucket_name}/{RUNS_PREFIX}",
            backend=Backend.BEDROCK,
            policy=policy,
            log_level=log_level,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="Scores a pipeline run's unscored problem posts as product opportunities with Amazon Bedrock.",
            runtime=SCORE_RUNTIME,
            architecture=SCORE_ARCHITECTURE,
            handler=SCORE_HANDLER,
            code=python_lambda_code(
                sources=SCORE_SOURCES,
                requirements_file=SCORE_REQUIREMENTS,
                runtime=SCORE_RUNTIME,
                architecture=SCORE_ARCHITECTURE,
            ),
            memory_size=settings.memory_mb,
            timeout=cdk.Duration.seconds(settings.timeout_seconds),
            reserved_concurrent_executions=SCORE_RESERVED_CONCURRENCY,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=score_settings.to_env(),
        )
        # A state machine may invoke the function as soon as it exists: not before it may read and score.
        self.function.node.add_dependency(self.access_policy)
        if self.batch_access_policy is not None:
            # Nor before a job it submits may read its records.
            self.function.node.add_dependency(self.batch_access_policy)
        acknowledge_function_defaults(self.function, self.role)

    # ------------------------------------------------------------------ the model

    def _model_resources(self, settings: LlmConfig) -> _ModelResources:
        stack = cdk.Stack.of(self)

        def foundation_model(region: str) -> str:
            return stack.format_arn(
                service="bedrock",
                region=region,
                account="",
                resource="foundation-model",
                resource_name=settings.foundation_model_id,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )

        if not settings.uses_inference_profile:
            return _ModelResources(profile_arn=None, foundation_model_arns=(foundation_model(stack.region),))
        if not settings.inference_profile_regions:
            raise ValueError(f"{settings.model_id} is an inference profile: name the regions it routes to")
        profile_arn = stack.format_arn(
            service="bedrock",
            resource="inference-profile",
            resource_name=settings.model_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        return _ModelResources(
            profile_arn=profile_arn,
            foundation_model_arns=tuple(foundation_model(region) for region in settings.inference_profile_regions),
        )

    # ------------------------------------------------------------------ the function's access

    def _access_statements(
        self, *, processed_bucket: s3.IBucket, analytics_bucket: s3.IBucket, raw_bucket: s3.IBucket
    ) -> list[iam.PolicyStatement]:
        """Exactly the calls the code makes (``ScoreStore``, ``RunManifests``, ``BatchInference`` on S3)."""
        via_s3 = via_service("s3", self._region)
        return [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            # ScoreStore lists the processed tables' parts, then reads them.
            iam.PolicyStatement(
                sid="ListProcessedPosts",
                actions=["s3:ListBucket"],
                resources=[processed_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": list(SOURCE_OBJECTS)}},
            ),
            iam.PolicyStatement(
                sid="ReadProcessedPosts",
                actions=["s3:GetObject"],
                resources=[processed_bucket.arn_for_objects(pattern) for pattern in SOURCE_OBJECTS],
            ),
            # Scores (replaced per prompt version), ledger parts (added, never overwritten), batch jobs'
            # records, results and state. Without ListBucket a missing key answers 403, not 404.
            iam.PolicyStatement(
                sid="ListScores",
                actions=["s3:ListBucket"],
                resources=[analytics_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": list(ANALYTICS_OBJECTS)}},
            ),
            iam.PolicyStatement(
                sid="ReadWriteScores",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[analytics_bucket.arn_for_objects(pattern) for pattern in ANALYTICS_OBJECTS],
            ),
            # RunManifests: a rerun finds the run's score.json and does nothing.
            *run_manifest_statements(raw_bucket, Stage.SCORE),
            # SSE-KMS with a bucket key: reading needs Decrypt in the three buckets, a single-part
            # PutObject a data key in the two it writes; both through S3 and for those buckets only.
            iam.PolicyStatement(
                sid="DecryptLakeObjects",
                actions=["kms:Decrypt"],
                resources=[self._encryption_key.key_arn],
                conditions={
                    "StringEquals": {
                        **via_s3,
                        "kms:EncryptionContext:aws:s3:arn": [
                            processed_bucket.bucket_arn,
                            analytics_bucket.bucket_arn,
                            raw_bucket.bucket_arn,
                        ],
                    }
                },
            ),
            iam.PolicyStatement(
                sid="EncryptScoreObjects",
                actions=["kms:GenerateDataKey"],
                resources=[self._encryption_key.key_arn],
                conditions={
                    "StringEquals": {
                        **via_s3,
                        "kms:EncryptionContext:aws:s3:arn": [analytics_bucket.bucket_arn, raw_bucket.bucket_arn],
                    }
                },
            ),
        ]

    def _batch_statements(self) -> list[iam.PolicyStatement]:
        """What ``BatchInference`` calls besides S3; nothing when batch inference is off."""
        if self.batch_role is None:
            return []
        return [
            # CreateModelInvocationJob authorizes the job and the model it runs; GetModelInvocationJob the job.
            iam.PolicyStatement(
                sid="ManageBatchJobs",
                actions=["bedrock:CreateModelInvocationJob", "bedrock:GetModelInvocationJob"],
                resources=[self._job_arns],
            ),
            *self._model.statements("CreateBatchJobs", ["bedrock:CreateModelInvocationJob"]),
            # A create retried past its request token's lifetime conflicts on the name: the job is found by it.
            iam.PolicyStatement(
                sid="FindBatchJobByName",
                actions=["bedrock:ListModelInvocationJobs"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="PassBatchRole",
                actions=["iam:PassRole"],
                resources=[self.batch_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": BEDROCK_SERVICE}},
            ),
            # The model's "minimum number of records per batch inference job": applied values, then defaults.
            iam.PolicyStatement(
                sid="ReadBatchQuotas",
                actions=["servicequotas:ListServiceQuotas", "servicequotas:ListAWSDefaultServiceQuotas"],
                resources=["*"],
            ),
        ]

    def _acknowledge_access_wildcards(
        self, processed_bucket: s3.IBucket, analytics_bucket: s3.IBucket, raw_bucket: s3.IBucket
    ) -> None:
        """One IAM5 acknowledgement per wildcard resource, each with why the keys are unknown at deploy time."""
        findings = [
            *(
                (
                    processed_bucket.arn_for_objects(pattern),
                    f"Score reads the processed table's Parquet parts under {pattern.removesuffix('*')}; part names "
                    "are the processing job's, written per run.",
                )
                for pattern in SOURCE_OBJECTS
            ),
            (
                analytics_bucket.arn_for_objects(f"{SCORES_PREFIX}*"),
                f"Score replaces one scores file per prompt version under {SCORES_PREFIX}; versions ship with the "
                "code, after deploy.",
            ),
            (
                analytics_bucket.arn_for_objects(f"{COSTS_PREFIX}*"),
                f"Score adds cost-ledger parts under {COSTS_PREFIX}, named per scored date, run id and part.",
            ),
            (
                analytics_bucket.arn_for_objects(f"{BATCH_PREFIX}*"),
                f"Score writes batch job records and state and reads their results under {BATCH_PREFIX}, named per "
                "job (run id).",
            ),
            (
                raw_bucket.arn_for_objects(RUN_MANIFESTS),
                "Score reads the run's manifests (its own, to make a rerun a no-op); run ids are unknown at deploy.",
            ),
            (
                raw_bucket.arn_for_objects(SCORE_MANIFEST),
                "Score writes runs/<run_id>/score.json only; the run id is unknown at deploy time.",
            ),
        ]
        if self.batch_role is not None:
            findings.append(
                (
                    self._job_arns,
                    "Batch inference job ARNs carry an id Bedrock assigns at creation; the jobs are this account's "
                    "in this region only.",
                )
            )
            acknowledge(
                self.access_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "Only bedrock:ListModelInvocationJobs and servicequotas:ListServiceQuotas / "
                "ListAWSDefaultServiceQuotas are granted on *: none of them supports resource-level permissions.",
            )
        for arn, reason in findings:
            acknowledge(self.access_policy, iam5_resource_finding(self, arn), reason)

    # ------------------------------------------------------------------ batch inference

    def _batch_role(self, function_name: str, analytics_bucket: s3.IBucket) -> tuple[iam.Role, iam.Policy]:
        """The service role Bedrock assumes for this account's batch jobs: their records, results and the model."""
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "BatchRole",
            assumed_by=iam.ServicePrincipal(
                BEDROCK_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": self._job_arns},
                },
            ),
            description=(
                f"Bedrock batch inference jobs of {function_name}: read their records and write their results "
                "in the analytics zone, invoke the configured model."
            ),
        )
        policy = iam.Policy(
            self,
            "BatchAccessPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ListBatchObjects",
                    actions=["s3:ListBucket"],
                    resources=[analytics_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": BATCH_OBJECTS}},
                ),
                iam.PolicyStatement(
                    sid="ReadBatchRecords",
                    actions=["s3:GetObject"],
                    resources=[analytics_bucket.arn_for_objects(BATCH_INPUTS)],
                ),
                iam.PolicyStatement(
                    sid="WriteBatchResults",
                    actions=["s3:PutObject"],
                    resources=[analytics_bucket.arn_for_objects(BATCH_OUTPUTS)],
                ),
                iam.PolicyStatement(
                    sid="EncryptBatchObjects",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[self._encryption_key.key_arn],
                    conditions={
                        "StringEquals": {
                            **via_service("s3", self._region),
                            "kms:EncryptionContext:aws:s3:arn": analytics_bucket.bucket_arn,
                        }
                    },
                ),
                *self._model.statements("InvokeModel", ["bedrock:InvokeModel"]),
            ],
        )
        for pattern, reason in (
            (BATCH_INPUTS, "A batch job reads its records file, batch_inference/<job name>/input/; named per run."),
            (BATCH_OUTPUTS, "A batch job writes its results under batch_inference/<job name>/output/<job id>/."),
        ):
            acknowledge(policy, iam5_resource_finding(self, analytics_bucket.arn_for_objects(pattern)), reason)
        return role, policy
