"""FleetPorts on its own: Istio's cross-network port and the Kubernetes API opened between two
clusters on two clouds, each only from the other's ranges: rules on an EKS cluster security group
(one per source CIDR) and GCP firewall rules targeting a GKE node pool's service account.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI, set the ids in config
(``securityGroupId``, ``networkId``, ``nodeServiceAccount``, ``gcp:project``) and ``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.fleet.ports import FleetPorts, FleetPortsArgs

config = pulumi.Config()
aws_provider = aws.Provider("aws-us-east-1", region="us-east-1")
gcp_provider = gcp.Provider("gcp", project=config.get("gcpProject") or "shop-project", region="europe-west1")

ports = FleetPorts(
    "shop-ports",
    FleetPortsArgs(clusters=[
        {"name": "east", "aws": {"provider": aws_provider, "security_group_id": config.get("securityGroupId") or "sg-0123"},
         "openings": [
             {"name": "istio-mtls", "protocol": "tcp", "port": 15443, "sources": ["10.30.0.0/16", "100.66.0.0/16"],
              "description": "Istio east-west gateway (mTLS)"},
             {"name": "kube-api", "protocol": "tcp", "port": 443, "sources": ["10.30.0.0/16"]},
         ]},
        {"name": "europe", "gcp": {"provider": gcp_provider, "network_id": config.get("networkId") or "projects/shop/global/networks/vpc",
                                   "node_service_account": config.get("nodeServiceAccount") or "nodes@shop.iam.gserviceaccount.com"},
         "openings": [{"name": "istio-mtls", "protocol": "tcp", "port": 15443, "sources": ["10.20.0.0/16"]}]},
    ]),
)

pulumi.export("ruleCounts", ports.rule_counts)
