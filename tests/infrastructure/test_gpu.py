"""The GPU options as deployed: SageMaker on an AMI whose NVIDIA driver runs the image's CUDA,
ECS on the Amazon Linux 2023 GPU AMI with autoscaling up to gpu_max_instances."""

from __future__ import annotations

import json
import re

import pytest

from infra.constructs.tts.sagemaker import SAGEMAKER_AMI_DRIVERS
from infra.layout import REPO_ROOT
from tests.support.synth import synth

# Minimum NVIDIA driver per CUDA minor version (NVIDIA's CUDA toolkit release notes).
CUDA_MIN_DRIVER = {"12.2": 535, "12.4": 550, "12.6": 560, "12.8": 570, "13.0": 580}


def gpu_cuda() -> str:
    # The base a deploy builds on: the BASE_IMAGE argument's default (FROM ${BASE_IMAGE}).
    image = re.search(
        r"^ARG BASE_IMAGE=nvidia/cuda:(\d+\.\d+)", (REPO_ROOT / "Dockerfile.gpu").read_text(), re.M
    )
    return image.group(1)


def test_sagemaker_pins_an_ami_whose_driver_runs_the_images_cuda(synthesized):
    s = synthesized["sagemaker"]
    (config,) = s.resources("AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    ami = variant["InferenceAmiVersion"]
    assert SAGEMAKER_AMI_DRIVERS[ami] >= CUDA_MIN_DRIVER[gpu_cuda()], (ami, gpu_cuda())
    # The value is one the SageMaker API accepts (botocore's service model lists them).
    import botocore.session

    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .shape_for("ProductionVariantInferenceAmiVersion")
    )
    assert ami in shape.enum
    assert set(SAGEMAKER_AMI_DRIVERS) <= set(shape.enum)


def test_an_ami_too_old_for_the_image_fails_the_synth(tmp_path):
    with pytest.raises(ValueError, match=r"does not run CUDA 12\.8"):
        synth(
            tmp_path,
            gpu_tts="sagemaker",
            sagemaker_inference_ami="al2-ami-sagemaker-inference-gpu-3-1",
        )


@pytest.mark.parametrize("variant", ["sagemaker", "ecs"])
def test_the_gpu_container_knows_its_region(synthesized, variant):
    s = synthesized[variant]
    if variant == "sagemaker":
        (model,) = s.resources("AWS::SageMaker::Model").values()
        environment = model["Properties"]["PrimaryContainer"]["Environment"]
    else:
        (task,) = s.resources("AWS::ECS::TaskDefinition").values()
        (container,) = task["Properties"]["ContainerDefinitions"]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["AWS_REGION"] == {"Ref": "AWS::Region"}
    assert "Ref" in environment["S3_BUCKET"] and environment["PUBLIC_PREFIX"] == "public/"


def test_ecs_runs_on_the_amazon_linux_2023_gpu_ami(synthesized):
    s = synthesized["ecs"]
    (template,) = s.resources("AWS::EC2::LaunchTemplate").values()
    image = template["Properties"]["LaunchTemplateData"]["ImageId"]["Ref"]
    assert s.json["Parameters"][image]["Default"] == (
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
    )
    (task,) = s.resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
    assert container["User"] == "10001"  # Dockerfile.gpu's app user; SageMaker runs as root


def test_ecs_scales_tasks_and_instances_up_to_gpu_max_instances(tmp_path):
    s = synth(tmp_path, gpu_tts="ecs", gpu_max_instances=4)
    (group,) = s.resources("AWS::AutoScaling::AutoScalingGroup").values()
    assert group["Properties"]["MaxSize"] == "4" and group["Properties"]["MinSize"] == "1"
    targets = [
        t["Properties"]
        for t in s.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
        if t["Properties"]["ScalableDimension"] == "ecs:service:DesiredCount"
    ]
    (target,) = targets
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    (policy,) = s.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization"
    )
    # New tasks go through the capacity provider, whose managed scaling adds instances.
    ((provider_id, provider),) = s.resources("AWS::ECS::CapacityProvider").items()
    managed = provider["Properties"]["AutoScalingGroupProvider"]["ManagedScaling"]
    assert managed["Status"] == "ENABLED"
    (service,) = s.resources("AWS::ECS::Service").values()
    strategy = service["Properties"]["CapacityProviderStrategy"]
    assert strategy == [{"CapacityProvider": {"Ref": provider_id}, "Weight": 1}]
    assert "LaunchType" not in service["Properties"]


def test_sagemaker_endpoint_scales_up_to_gpu_max_instances(synthesized):
    s = synthesized["sagemaker"]
    (target,) = s.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (1, 2)
    assert "endpoint/" in json.dumps(target["Properties"]["ResourceId"])
