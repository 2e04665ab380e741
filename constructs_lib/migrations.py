"""Database migrations applied at deploy time, inside the data subnets.

A CDK trigger invokes the migration function synchronously once its stack deploys (after the data
stack: the Aurora cluster and its instances exist), and again whenever the function's code (so the
migrations) changes. It lives in a stack of its own: a failing migration rolls back only that
stack, never the data stack, whose deletion-protected, fixed-name cluster a rollback could not
delete (and a retry would then collide with). The function
logs in as the master user with the RDS-managed secret (fetched through the Secrets Manager
endpoint, never printed), applies every pending migration under an advisory lock and records a
checksum per migration; a changed or failing migration raises, the trigger reports the error, and
the deploy fails and rolls back ("If the trigger handler fails ... the CloudFormation deployment
will fail", aws_cdk.triggers). The lifecycle functions and the app can then log in with IAM auth.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack, triggers
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.functions import Network, SecureFunction, ignore_redundant_provider_dependency

# The function's own limit, and the trigger's wait for it (longer, so a slow run fails in the
# function with its own error rather than as a socket timeout in CDK's trigger provider).
FUNCTION_TIMEOUT_MINUTES = 9
TRIGGER_TIMEOUT = Duration.minutes(10)


class DeployTimeMigrations(Construct):
    """Attributes: `function` (SecureFunction), `trigger`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        master_secret_arn: str,
        endpoint: str,
        database_key: kms.IKey,
        network: Network,
        code: lambda_.Code,
        environment_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        database_name: str,
        port: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        secret_arn = master_secret_arn
        self.function = SecureFunction(
            self,
            "Function",
            name="migrations",
            description="Apply the lifecycle/migrations SQL to Aurora at deploy time (master user, advisory lock)",
            handler="lifecycle.handlers.migrate",
            code=code,
            network=network,
            key=environment_key,
            logs_key=logs_key,
            log_retention=log_retention,
            dead_letter_queue=None,  # invoked synchronously by the deploy only
            environment={
                "MASTER_SECRET_ARN": secret_arn,
                "DB_HOST": endpoint,
                "DB_PORT": str(port),
                "DB_NAME": database_name,
            },
            statements=[
                iam.PolicyStatement(
                    sid="ReadMasterSecret", actions=["secretsmanager:GetSecretValue"], resources=[secret_arn]
                ),
                # GetSecretValue: "kms:Decrypt - required only if you use a customer-managed AWS KMS key"
                iam.PolicyStatement(
                    sid="DecryptMasterSecretThroughSecretsManager",
                    actions=["kms:Decrypt"],
                    resources=[database_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
                ),
            ],
            timeout_minutes=FUNCTION_TIMEOUT_MINUTES,
        )
        self.trigger = triggers.Trigger(
            self,
            "Apply",
            handler=self.function.function,
            execute_on_handler_change=True,
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE,  # an error fails the deploy
            timeout=TRIGGER_TIMEOUT,
        )
        ignore_redundant_provider_dependency(stack, "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider")
