"""AksCluster on its own: a resource group, a virtual network with a node subnet and a subnet
delegated for API server VNet integration, the cluster on them, and a namespace created through
the cluster's Kubernetes provider.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and Azure
credentials, ``pulumi preview``.
"""

import pulumi
import pulumi_azure_native as azure
import pulumi_kubernetes as k8s
from pulumi_azure_native import network, resources

from components.clusters.aks import AksCluster, AksClusterArgs

REGION = "westeurope"

provider = azure.Provider("azure", location=REGION)
opts = pulumi.ResourceOptions(provider=provider)
rg = resources.ResourceGroup("shop-rg", resource_group_name="shop", location=REGION, opts=opts)
vnet = network.VirtualNetwork(
    "shop-vnet", virtual_network_name="shop", resource_group_name=rg.name, location=REGION,
    address_space=network.AddressSpaceArgs(address_prefixes=["10.20.0.0/16"]), opts=opts,
)
nodes = network.Subnet("shop-nodes", subnet_name="nodes", resource_group_name=rg.name, virtual_network_name=vnet.name,
                       address_prefix="10.20.0.0/20", opts=opts)
apiserver = network.Subnet(
    "shop-apiserver", subnet_name="apiserver", resource_group_name=rg.name, virtual_network_name=vnet.name,
    address_prefix="10.20.16.0/28",
    delegations=[network.DelegationArgs(name="aks", service_name="Microsoft.ContainerService/managedClusters")],
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[nodes]),
)

cluster = AksCluster(
    "shop",
    AksClusterArgs(
        region=REGION,
        kubernetes_version="1.35",
        zones=["1", "2", "3"],
        resource_group_name=rg.name,
        vnet_id=vnet.id,
        node_subnet_id=nodes.id,
        apiserver_subnet_id=apiserver.id,
        pod_cidr="100.64.0.0/16",
        service_cidr="172.20.0.0/16",
        dns_service_ip="172.20.0.10",
        node_pool={"instance_type": "Standard_D4s_v5", "min_size": 3, "desired_size": 3, "max_size": 6},
        maintenance={"day": "Sunday", "start_utc": "01:00", "duration_hours": 12},
        sku_tier="Free",
        key_vault_purge_protection=False,
        key_vault_retention_days=7,
        deletion_protection=False,
    ),
    pulumi.ResourceOptions(providers=[provider]),
)

k8s.core.v1.Namespace("shop-apps", metadata={"name": "apps"}, opts=pulumi.ResourceOptions(provider=cluster.k8s_provider))

pulumi.export("endpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcIssuer", cluster.oidc_issuer)
