"""CloudWatch alarms (to an SNS topic) and a dashboard for the deployed API.

Alarms:
- DeadLetters: a message reached the uploads dead-letter queue (a file failed 3 times).
- UploadBacklogAge: the oldest upload waited over 15 minutes for a worker.
- Api5xxRate: more than 5 % of requests answered 5xx over 5 minutes.
- Api429: 10 or more requests answered 429 in 5 minutes (usage-plan/stage throttling at the
  gateway or the app's backpressure), counted from the access log.
- <Function>Errors: any invocation error (crash, timeout, out of memory) of Stt, Api, Worker,
  Tts and the key authorizer. Worker errors mean a batch failed as a whole.
- <Function>Throttles: Lambda throttled an invocation (concurrency exhausted).
- <Name>DeadLetters / <Name>BacklogAge for each further queue (`watch_queue`): the speech
  jobs' queue (a step failed 3 times; the oldest step waited 15 minutes).
- <Function>StreamErrors: a streamed response (Stt, Tts) failed after its first byte. Lambda
  counts that as a successful invocation (and the gateway as a 200), so the streaming runtime
  counts it itself (speech_api.runtime.lambda_stream: SpeechAPI/StreamErrors per function).
- CallbackDeadLetters: a callback failed CALLBACK_ATTEMPTS times (its receiver was down).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeployConfig
from infra.nag import acknowledge
from speech_api.runtime.lambda_stream import METRIC_NAMESPACE as STREAM_ERRORS_NAMESPACE
from speech_api.runtime.lambda_stream import STREAM_ERRORS_METRIC

NAMESPACE = "SpeechAPI"
PERIOD = Duration.minutes(5)
SERVER_ERROR_PERCENT = 5
THROTTLED_REQUESTS = 10
BACKLOG_AGE = Duration.minutes(15)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        api,
        functions: dict[str, lambda_.IFunction],
        queue: sqs.IQueue,
        dead_letters: sqs.IQueue,
        more_queues: dict[str, tuple[sqs.IQueue, sqs.IQueue, str]] | None = None,
        streamed: dict[str, lambda_.IFunction] | None = None,
        callbacks_dead_letters: sqs.IQueue | None = None,
    ):
        """``more_queues``: name -> (queue, its dead-letter queue, what its messages are),
        each watched as the uploads queue is (`watch_queue`)."""
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="speech-api alarms", enforce_ssl=True
        )
        acknowledge(
            self.topic,
            {
                "AwsSolutions-SNS2": "CloudWatch alarms cannot publish to a topic encrypted with "
                "the AWS-managed SNS key; alarm messages hold alarm names and metric values "
                "only.",
            },
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        rest_api = api.api

        self._alarm(
            "DeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            threshold=1,
            description="Uploads failed 3 times and are in the dead-letter queue. Inspect, fix, "
            "then redrive with `aws sqs start-message-move-task`.",
        )
        self._alarm(
            "UploadBacklogAge",
            queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=BACKLOG_AGE.to_seconds(),
            description="The oldest upload waited over 15 minutes for a worker.",
        )
        server_errors = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={
                "errors": rest_api.metric_server_error(period=PERIOD, statistic="Sum"),
                "requests": rest_api.metric_count(period=PERIOD, statistic="Sum"),
            },
            label="5xx %",
            period=PERIOD,
        )
        self._alarm(
            "Api5xxRate",
            server_errors,
            threshold=SERVER_ERROR_PERCENT,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"Over {SERVER_ERROR_PERCENT} % of API requests answered 5xx.",
        )
        throttled = logs.MetricFilter(
            self,
            "Api429Filter",
            log_group=api.access_logs,
            metric_namespace=NAMESPACE,
            metric_name="Api429",
            filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
            metric_value="1",
        )
        self._alarm(
            "Api429",
            throttled.metric(period=PERIOD, statistic="Sum"),
            threshold=THROTTLED_REQUESTS,
            description="Requests answered 429: gateway throttling (stage or usage plan) or the "
            "app's backpressure. Raise throttle_* / concurrency or find the noisy key.",
        )
        queue_graphs = [
            self.watch_queue(name, q, dlq, what=what)
            for name, (q, dlq, what) in (more_queues or {}).items()
        ]
        for name, fn in (streamed or {}).items():
            self._alarm(
                f"{name}StreamErrors",
                cloudwatch.Metric(
                    namespace=STREAM_ERRORS_NAMESPACE,
                    metric_name=STREAM_ERRORS_METRIC,
                    dimensions_map={"function_name": fn.function_name},
                    period=PERIOD,
                    statistic="Sum",
                ),
                threshold=1,
                description=f"The {name} function's streamed responses failed after their "
                "first byte (a cut body the client saw as a 200; the log has each error).",
            )
        if callbacks_dead_letters is not None:
            self._alarm(
                "CallbackDeadLetters",
                callbacks_dead_letters.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Maximum"
                ),
                threshold=1,
                description="Callbacks failed every attempt (their receivers were down or "
                "refused) and are in the callbacks dead-letter queue.",
            )
        for name, fn in functions.items():
            self._alarm(
                f"{name}Errors",
                fn.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"The {name} function failed invocations (crash, timeout or out "
                "of memory).",
            )
            self._alarm(
                f"{name}Throttles",
                fn.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"Lambda throttled the {name} function (concurrency exhausted).",
            )

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{cdk.Stack.of(self).stack_name}-speech-api"
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests",
                left=[rest_api.metric_count(period=Duration.minutes(1), statistic="Sum")],
                right=[
                    rest_api.metric_client_error(period=Duration.minutes(1), statistic="Sum"),
                    rest_api.metric_server_error(period=Duration.minutes(1), statistic="Sum"),
                    throttled.metric(period=Duration.minutes(1), statistic="Sum", label="429"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency",
                left=[
                    rest_api.metric_latency(period=Duration.minutes(1), statistic="p50"),
                    rest_api.metric_latency(period=Duration.minutes(1), statistic="p99"),
                    rest_api.metric_integration_latency(
                        period=Duration.minutes(1), statistic="p99"
                    ),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[fn.metric_errors(label=f"{n} errors") for n, fn in functions.items()],
                right=[fn.metric_throttles(label=f"{n} throttles") for n, fn in functions.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p99",
                left=[fn.metric_duration(statistic="p99", label=n) for n, fn in functions.items()],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Uploads queue",
                left=[
                    queue.metric_approximate_number_of_messages_visible(label="waiting"),
                    dead_letters.metric_approximate_number_of_messages_visible(
                        label="dead letters"
                    ),
                ],
                right=[queue.metric_approximate_age_of_oldest_message(label="oldest (s)")],
                width=12,
            ),
            *queue_graphs,
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=12
            ),
        )

    def watch_queue(
        self, name: str, queue: sqs.IQueue, dead_letters: sqs.IQueue, *, what: str
    ) -> cloudwatch.GraphWidget:
        """Alarms for another queue and its dead-letter queue; its dashboard graph."""
        self._alarm(
            f"{name}DeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            threshold=1,
            description=f"Messages of {what} failed 3 times and are in the dead-letter queue.",
        )
        self._alarm(
            f"{name}BacklogAge",
            queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=BACKLOG_AGE.to_seconds(),
            description=f"The oldest of the {what} waited over 15 minutes for a worker.",
        )
        return cloudwatch.GraphWidget(
            title=f"{name} queue",
            left=[
                queue.metric_approximate_number_of_messages_visible(label="waiting"),
                dead_letters.metric_approximate_number_of_messages_visible(label="dead letters"),
            ],
            right=[queue.metric_approximate_age_of_oldest_message(label="oldest (s)")],
            width=12,
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm
