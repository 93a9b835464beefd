"""Speech jobs as deployed, in every gpu_tts variant: one SQS queue (and its dead-letter queue)
fed by POST /tts/jobs and by text files created under texts/, drained a step per invocation
by the Narrator function (the fan-out), which may do what its steps need and nothing more;
alarms on the queue; the routes reach the light Api function."""

from __future__ import annotations

import json

import pytest

from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS
from tests.infrastructure.conftest import VARIANTS
from tests.infrastructure.gateway import Gateway
from tests.infrastructure.iam import Permission, Template, s3


def queue_ids(s) -> tuple[str, str]:
    queues = s.resources("AWS::SQS::Queue")
    (jobs,) = [k for k in queues if k.startswith("SpeechJobs") and "DeadLetter" not in k]
    (dlq,) = [k for k in queues if k.startswith("SpeechJobsSpeechJobsDeadLetter")]
    return jobs, dlq


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_narrator_drains_the_jobs_queue_a_step_at_a_time(synthesized, variant):
    s = synthesized[variant]
    jobs, dlq = queue_ids(s)
    queue = s.json["Resources"][jobs]["Properties"]
    narrator = s.function("NarratorFunction")
    assert narrator["ImageConfig"]["Command"] == ["handlers.speech_jobs.handler"]
    assert narrator["Timeout"] == 900 and narrator["MemorySize"] == 3008
    env = narrator["Environment"]["Variables"]
    assert env["SPEECH_JOBS_QUEUE_URL"] == {"Ref": jobs}
    assert env["CALLBACK_ALLOW_LOOPBACK"] == "false"
    # AWS's advice for SQS event sources; the worker records the failure itself on its
    # MAX_WORKER_ATTEMPTS-th delivery, so SQS must still deliver that one.
    assert queue["VisibilityTimeout"] >= 6 * narrator["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq, "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= max(5, MAX_WORKER_ATTEMPTS + 1)
    assert queue["SqsManagedSseEnabled"] is True
    (mapping,) = [
        m["Properties"]
        for m in s.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"]["Ref"].startswith("NarratorFunction")
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [jobs, "Arn"]}
    # One step per invocation (a part is up to minutes of synthesis), failures item by item,
    # parts of one job on up to narrator_max_concurrency invocations at once.
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == 10


@pytest.mark.parametrize("variant", VARIANTS)
def test_text_files_created_under_texts_notify_the_jobs_queue(synthesized, variant):
    s = synthesized[variant]
    jobs, _ = queue_ids(s)
    notification = next(iter(s.resources("Custom::S3BucketNotifications").values()))
    configs = notification["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    (texts,) = [
        c
        for c in configs
        if c["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "texts/"}]
    ]
    assert texts["QueueArn"] == {"Fn::GetAtt": [jobs, "Arn"]}
    assert texts["Events"] == ["s3:ObjectCreated:*"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_job_work_expires_and_unfinished_uploads_are_aborted(synthesized, variant):
    s = synthesized[variant]
    audio = next(v for k, v in s.resources("AWS::S3::Bucket").items() if k.startswith("Audio"))
    rules = {r["Id"]: r for r in audio["Properties"]["LifecycleConfiguration"]["Rules"]}
    work = rules["SpeechJobWork"]
    assert work["Prefix"] == "speech-jobs/" and work["ExpirationInDays"] == 30
    assert work["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


@pytest.mark.parametrize("variant", VARIANTS)
def test_who_may_queue_and_publish_what(synthesized, variant):
    s = synthesized[variant]
    t = Template(s.json)
    jobs, _ = queue_ids(s)
    queue_arn = f"{{{jobs}.Arn}}"  # how the evaluator resolves the queue's Fn::GetAtt Arn
    roles = {
        name: t.function_role(f"{name}Function") for name in ("Api", "Narrator", "Worker", "Stt")
    }
    send = Permission("sqs:SendMessage", queue_arn)
    assert t.decide(roles["Api"], send) == "allow"  # queues the plan
    assert t.decide(roles["Narrator"], send) == "allow"  # the fan-out
    assert t.decide(roles["Worker"], send) != "allow"
    assert t.decide(roles["Stt"], send) != "allow"
    bucket = next(k for k in s.resources("AWS::S3::Bucket") if k.startswith("Audio"))
    narrator = roles["Narrator"]
    for action in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                   "AbortMultipartUpload"):  # fmt: skip
        assert t.allows(narrator, s3(action, "speech-jobs/j/staging.mp3", bucket=bucket))
    assert t.allows(narrator, s3("CopyObject", f"public/tts/{'a' * 64}.mp3", bucket=bucket))
    assert not t.allows(narrator, s3("PutObject", "public/page.html", bucket=bucket))
    assert not t.allows(roles["Api"], s3("PutObject", f"public/tts/{'a' * 64}.mp3", bucket=bucket))
    api_env = s.function("ApiFunction")["Environment"]["Variables"]
    assert api_env["SPEECH_JOBS_QUEUE_URL"] == {"Ref": jobs}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_jobs_routes_reach_the_api_function_with_a_validated_body(synthesized, variant):
    s = synthesized[variant]
    gateway = Gateway(s.json)
    post = gateway.resolve("POST", "/tts/jobs")
    get = gateway.resolve("GET", f"/tts/jobs/{'0' * 32}")
    assert get.params == {"id": "0" * 32}
    for route in (post, get):
        assert gateway.function_of(route.method).startswith("ApiFunction")
    assert post.method["RequestModels"] == {
        "application/json": {"Ref": next(k for k in s.resources("AWS::ApiGateway::Model")
                                         if k.startswith("ApiSpeechJobRequest"))}
    }  # fmt: skip
    assert s.json["Outputs"]["SpeechJobQueueUrl"]["Value"] == {"Ref": queue_ids(s)[0]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_jobs_queue_and_its_dead_letters_alarm(synthesized, variant):
    s = synthesized[variant]
    jobs, dlq = queue_ids(s)
    alarms = {k: v["Properties"] for k, v in s.resources("AWS::CloudWatch::Alarm").items()}
    (dead,) = [a for k, a in alarms.items() if k.startswith("MonitoringSpeechJobDeadLetters")]
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
    ]
    (age,) = [a for k, a in alarms.items() if k.startswith("MonitoringSpeechJobBacklogAge")]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage" and age["Threshold"] == 900
    assert json.dumps(age["Dimensions"]).count(jobs) == 1
