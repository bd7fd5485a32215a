"""Monitoring: an encrypted SNS topic for alarms, API, per-function and queue alarms."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)
# API: 5XX responses in 5 minutes (includes authorizer failures and integration timeouts).
API_5XX_THRESHOLD = 5
# API: p99 latency, sustained over three 5-minute periods.
API_P99_LATENCY_MS = 3000


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigw.RestApi,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue] | None = None,
        queue_max_ages: Mapping[str, tuple[sqs.IQueue, Duration]] | None = None,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.key = kms.Key(
            self,
            "AlarmTopicKey",
            description="dmarcwatch: encrypts the alarm topic",
            enable_key_rotation=True,
        )
        # CloudWatch alarms publish to the encrypted topic, so CloudWatch must be able to use the key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="dmarcwatch alarms", master_key=self.key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cw_actions.SnsAction(self.topic)

        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm(
            "Api5xx",
            rest_api.metric_server_error(period=PERIOD, statistic="Sum"),
            threshold=API_5XX_THRESHOLD,
            description=f"API answered at least {API_5XX_THRESHOLD} 5XX responses in 5 minutes",
        )
        self._alarm(
            "ApiLatencyP99",
            rest_api.metric_latency(period=PERIOD, statistic="p99"),
            threshold=API_P99_LATENCY_MS,
            evaluation_periods=3,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"API p99 latency above {API_P99_LATENCY_MS} ms for 15 minutes",
        )
        for name, function in functions.items():
            # Lambda Errors of an API function are crashes the app did not turn into a response (import
            # errors, timeouts, out of memory): one is worth a look.
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{name}: function errors (unhandled exceptions, timeouts)",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{name}: invocations throttled (concurrency limit)",
            )
        for name, queue in (dead_letter_queues or {}).items():
            # A message in a DLQ failed every delivery: raw mail (its object stays in S3) waits for a fix and
            # a redrive; a scan request or a schedule event points at a bug or an outage (the dispatcher
            # queues the domain again once its lease ends).
            self._alarm(
                f"{name}Messages",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                threshold=1,
                description=f"{name}: messages in the dead-letter queue (processing failed every retry)",
            )
        for name, (queue, max_age) in (queue_max_ages or {}).items():
            seconds = max_age.to_seconds()
            self._alarm(
                f"{name}OldestMessageAge",
                queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                threshold=seconds,
                description=(
                    f"{name}: oldest message waiting over {seconds} s (repeated failures or a backlog)"
                ),
            )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"dmarcwatch: {description}",
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm
