"""Test-only Pulumi program: each cloud's workload-identity binder built alone from plain values (no
cluster component), asked by the same cloud-neutral stand-in for an add-on, which never names a
cloud. Run by tests/test_workload_identity.py under the mock engine; never part of the real program.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure
import pulumi_gcp as gcp

from components.clusters.aks import AksWorkloadIdentity
from components.clusters.eks import EksPodIdentity
from components.clusters.gke import GkeWorkloadIdentity
from components.identity import CloudPermissions, WorkloadIdentityBinder

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
PERMISSIONS = CloudPermissions(
    aws_policy=lambda: POLICY,
    azure_roles=lambda: [("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "/subscriptions/s/resourceGroups/rg-shop")],
    gcp_roles=lambda: ["roles/storage.objectViewer"],
)
dns_provider = aws.Provider("aws-dns", region="us-east-1")


class Probe(pulumi.ComponentResource):
    """Stands for an add-on: one identity in the cluster's own cloud, one in AWS."""

    def __init__(self, name: str, binder: WorkloadIdentityBinder) -> None:
        super().__init__("test:addon:Probe", name)
        own = binder.bind("probe", "probe-sa", PERMISSIONS, purpose="probe", parent=self)
        in_aws = binder.bind_aws("probe", "dns-sa", POLICY, purpose="dns", parent=self, aws_provider=dns_provider)
        pulumi.export(name, {kind: {"annotations": wi.service_account_annotations, "podLabels": wi.pod_labels,
                                    "principal": wi.principal, "env": wi.env, "volumes": wi.volumes, "mounts": wi.volume_mounts}
                             for kind, wi in (("own", own), ("aws", in_aws))})


eks = aws.Provider("aws-eu-west-1", region="eu-west-1")
aks_cluster = pulumi.ComponentResource("test:cluster:Aks", "aks-shop")
gke_cluster = pulumi.ComponentResource("test:cluster:Gke", "gke-shop")
BINDERS: dict[str, WorkloadIdentityBinder] = {
    "aws": EksPodIdentity("eks-shop", "eks-shop", "eks-shop", provider=eks),
    "azure": AksWorkloadIdentity("aks-shop", "aks-shop", aks_cluster, pulumi.Output.from_input("https://westeurope.oic.prod-aks.azure.com/t/c/"),
                                 resource_group="rg-shop", region="westeurope", subscription="s",
                                 provider=azure.Provider("azure", location="westeurope")),
    "gcp": GkeWorkloadIdentity("gke-shop", "gke-shop", gke_cluster,
                               pulumi.Output.from_input("https://container.googleapis.com/v1/projects/p/locations/europe-west1/clusters/gke-shop"),
                               project="p", workload_pool="p.svc.id.goog", provider=gcp.Provider("gcp", project="p")),
}
for cloud, binder in BINDERS.items():
    Probe(f"probe-{cloud}", binder)
