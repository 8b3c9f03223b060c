"""Velero on its own: an S3 bucket the program makes, a Kubernetes provider from a kubeconfig,
and Velero writing its backups there with the AWS plugin and a daily Schedule.

The cloud identity is the program's: on EKS with Pod Identity an association for velero/velero
gives the pods their role and nothing is annotated; elsewhere pass the workload identity's
annotations and pod labels. Planned under the mock engine by tests/test_package.py; with the
Pulumi CLI, ``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)" && pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.velero import Velero, VeleroArgs

REGION = "eu-west-1"

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")
aws_provider = aws.Provider(f"aws-{REGION}", region=REGION)
bucket = aws.s3.Bucket("shop-backups", opts=pulumi.ResourceOptions(provider=aws_provider))

velero = Velero(
    "shop",
    VeleroArgs(
        kubernetes_provider=provider,
        plugin="velero.io/aws",
        bucket=bucket.bucket,
        location_config={"region": REGION},
        included_namespaces=["shop"],
        schedule="30 3 * * *",
        ttl="168h",
    ),
)

pulumi.export("bucket", velero.bucket)
pulumi.export("schedule", velero.schedule_name)
