"""GkeCluster on its own: a VPC network and a subnetwork with pod and Service secondary ranges,
the cluster on them, and a namespace created through the cluster's Kubernetes provider.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and Google
credentials, ``pulumi config set project <id> && pulumi preview``.
"""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.clusters.gke import GkeCluster, GkeClusterArgs

REGION = "europe-west1"
project = pulumi.Config().get("project") or "shop-example"

provider = gcp.Provider("gcp", project=project, region=REGION)
opts = pulumi.ResourceOptions(provider=provider)
net = gcp.compute.Network("shop-net", name="shop", auto_create_subnetworks=False, opts=opts)
subnet = gcp.compute.Subnetwork(
    "shop-subnet", name="shop", network=net.id, region=REGION, ip_cidr_range="10.30.0.0/20", private_ip_google_access=True,
    secondary_ip_ranges=[
        gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range="100.64.0.0/16"),
        gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services", ip_cidr_range="172.20.0.0/20"),
    ],
    opts=opts,
)

cluster = GkeCluster(
    "shop",
    GkeClusterArgs(
        project=project,
        region=REGION,
        kubernetes_version="1.35",
        network_id=net.id,
        subnetwork_id=subnet.id,
        vpc_cidr="10.30.0.0/20",
        control_plane_cidr="172.16.0.0/28",
        node_pool={"instance_type": "e2-standard-4", "min_size": 3, "desired_size": 3, "max_size": 6},
        zones=["europe-west1-b", "europe-west1-c", "europe-west1-d"],
        auto_provisioning={"cpu": 64, "memory_gb": 256},
        maintenance={"day": "Saturday", "start_utc": "02:00", "duration_hours": 12},
        binary_authorization="DISABLED",
        deletion_protection=False,
    ),
    pulumi.ResourceOptions(providers=[provider]),
)

k8s.core.v1.Namespace("shop-apps", metadata={"name": "apps"}, opts=pulumi.ResourceOptions(provider=cluster.k8s_provider))

pulumi.export("endpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcIssuer", cluster.oidc_issuer)
