"""GcpNetwork on its own: a custom-mode VPC with a subnetwork carrying pod and Service secondary
ranges, sampled flow logs, and Cloud NAT, ready for a GKE cluster named ``shop``.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and Google
credentials, ``pulumi config set project <id> && pulumi preview``.
"""

import pulumi
import pulumi_gcp as gcp

from components.network.gcp import GcpNetwork, GcpNetworkArgs

REGION = "europe-west1"
project = pulumi.Config().get("project") or "shop-example"

provider = gcp.Provider("gcp", project=project, region=REGION)
net = GcpNetwork(
    "shop",
    GcpNetworkArgs(region=REGION, node_subnet_cidr="10.30.0.0/20", pod_cidr="100.64.0.0/16", service_cidr="172.20.0.0/20",
                   flow_log_sampling=0.2),
    pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("networkId", net.network_id)
pulumi.export("subnetworkId", net.subnetwork_id)
pulumi.export("podsRangeName", net.pods_range_name)
