"""AzureNetwork on its own: a resource group and VNet with a node subnet behind a zone-redundant
NAT gateway and a subnet delegated to AKS for the API server, ready for an AKS cluster named ``shop``.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and Azure
credentials, ``pulumi preview``.
"""

import pulumi
import pulumi_azure_native as azure

from components.network.azure import AzureNetwork, AzureNetworkArgs

REGION = "westeurope"

provider = azure.Provider("azure", location=REGION)
net = AzureNetwork(
    "shop",
    AzureNetworkArgs(region=REGION, vnet_cidr="10.20.0.0/16", zones=["1", "2", "3"], nat_idle_timeout_minutes=10),
    pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("resourceGroupName", net.resource_group_name)
pulumi.export("nodeSubnetId", net.node_subnet_id)
pulumi.export("apiserverSubnetId", net.apiserver_subnet_id)
