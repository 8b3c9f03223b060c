"""Managed clusters per cloud. :func:`build_cluster` is the one place that picks EKS, AKS or GKE:
the fleet's composition of a cluster's network, the cluster component (from the fleet's spec
turned into the component's args) and the ClusterHandle the add-ons take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from components.clusters.base import ManagedCluster
from components.handle import ClusterHandle
from components.providers import CloudProviders
from stacks.spec import ClusterSpec, FleetSpec

if TYPE_CHECKING:
    from components.plumbing import CloudPlumbing


def moved_from_cluster(cluster_type: str, cluster_name: str, legacy_type: str) -> pulumi.ResourceOptions:
    """Options for a component that used to be a child of the cluster component (the network),
    registered then as ``legacy_type``: an alias to its old parent and type keeps its URN, and its
    children's, in deployed stacks."""
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=pulumi.create_urn(cluster_name, cluster_type), type_=legacy_type)])


def former_child_urns(handle: ClusterHandle, name: str, legacy_type: str) -> list[pulumi.Input[str]]:
    """The URNs deployed stacks may hold for component ``name`` of ``legacy_type`` that was a
    child of ``handle``'s cluster component: under the cluster's token before the one scheme
    (``archipelago:clusters:<Class>``) and after it (the component's own). What aliases to that
    old parent must name."""
    before = pulumi.create_urn(handle.name, f"archipelago:clusters:{type(handle.component).__name__}")
    return [pulumi.create_urn(name, legacy_type, parent=before), pulumi.create_urn(name, legacy_type, parent=handle.component)]


def cluster_handle(spec: ClusterSpec, cluster: ManagedCluster, cloud_provider: pulumi.ProviderResource,
                   network_outputs: dict[str, Any], plumbing: CloudPlumbing) -> ClusterHandle:
    """The cloud-neutral handle of a cluster component, for the add-ons (``plumbing``: the cloud's
    side of the add-ons, beside the cluster component)."""
    return ClusterHandle(
        spec=spec,
        provider=cluster.k8s_provider,
        cloud_provider=cloud_provider,
        component=cluster,
        kubeconfig=cluster.kubeconfig,  # type: ignore[attr-defined]
        endpoint=pulumi.Output.from_input(cluster.endpoint),  # type: ignore[attr-defined]
        ca_data=pulumi.Output.from_input(cluster.certificate_authority),  # type: ignore[attr-defined]
        oidc_issuer=cluster.oidc_issuer,  # type: ignore[attr-defined]
        account=cluster.account,  # type: ignore[attr-defined]
        cloud_outputs={**network_outputs, **cluster.cloud_outputs},
        lb_annotations=cluster.lb_annotations,
        lb_address_annotation=cluster.lb_address_annotation,
        reserve_lb_address=cluster.reserve_lb_address,
        node_cni_bin_dir=cluster.node_cni_bin_dir,
        critical_pods_need_quota=cluster.critical_pods_need_quota,
        identity=cluster.workload_identity,  # type: ignore[attr-defined]
        plumbing=plumbing,
    )


def build_cluster(cluster: ClusterSpec, fleet: FleetSpec, providers: CloudProviders,
                  deployer_path_ready: pulumi.Input[str] | None = None,
                  api_allowed_egress: pulumi.Input[list[str]] | None = None) -> ClusterHandle:
    """The cluster's network, then the cluster on it (the network keeps its URN by alias: it used
    to be the cluster component's child), then the handle. ``deployer_path_ready``: resolves once the
    deployer's network path to this cluster's API server exists (known once the fabric is built);
    the cluster's Kubernetes provider waits for it. ``api_allowed_egress`` (AKS): the egress
    CIDRs allowed on a public API server."""
    provider = providers.for_cluster(cluster.cloud, cluster.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    if cluster.cloud == "aws":
        from components.clusters.eks import EksCluster, eks_cluster_args
        from components.clusters.eks_plumbing import EksPlumbing
        from components.network.aws import AwsNetwork, aws_network_args

        aws_net = AwsNetwork(f"{cluster.name}-net", aws_network_args(cluster, fleet), _network_opts(opts, "EksCluster", cluster.name, "AwsNetwork"))
        eks_args = eks_cluster_args(cluster, fleet, aws_net)
        if deployer_path_ready is not None:
            eks_args["deployer_path_ready"] = deployer_path_ready
        eks = EksCluster(cluster.name, eks_args, opts)
        return cluster_handle(cluster, eks, provider, {
            "vpcId": aws_net.vpc_id, "privateSubnetIds": [s.id for s in aws_net.private_subnets],
            "privateRouteTableIds": [t.id for t in aws_net.private_route_tables],
            "egress": aws_net.egress, "egressIps": aws_net.egress_ips,
        }, EksPlumbing())
    if cluster.cloud == "azure":
        from components.clusters.aks import AksCluster, aks_cluster_args
        from components.clusters.aks_plumbing import AksPlumbing
        from components.network.azure import AzureNetwork, azure_network_args

        az_net = AzureNetwork(f"{cluster.name}-net", azure_network_args(cluster), _network_opts(opts, "AksCluster", cluster.name, "AzureNetwork"))
        aks_args = aks_cluster_args(cluster, fleet, az_net)
        if deployer_path_ready is not None:
            aks_args["deployer_path_ready"] = deployer_path_ready
        if api_allowed_egress is not None:
            aks_args["api_allowed_egress"] = api_allowed_egress
        aks = AksCluster(cluster.name, aks_args, opts)
        return cluster_handle(cluster, aks, provider, {
            "resourceGroupName": az_net.resource_group_name, "resourceGroupId": az_net.resource_group_id, "vnetId": az_net.vnet_id,
            "vnetName": az_net.vnet_name,
            "nodeSubnetId": az_net.node_subnet_id, "nodeSecurityGroupName": az_net.node_security_group_name,
            "egressIps": az_net.egress_ips,
        }, AksPlumbing())
    from components.clusters.gke import GkeCluster, gke_cluster_args
    from components.clusters.gke_plumbing import GkePlumbing
    from components.network.gcp import GcpNetwork, gcp_network_args

    gcp_net = GcpNetwork(f"{cluster.name}-net", gcp_network_args(cluster), _network_opts(opts, "GkeCluster", cluster.name, "GcpNetwork"))
    gke_args = gke_cluster_args(cluster, fleet, gcp_net)
    if deployer_path_ready is not None:
        gke_args["deployer_path_ready"] = deployer_path_ready
    gke = GkeCluster(cluster.name, gke_args, opts)
    return cluster_handle(cluster, gke, provider, {"networkId": gcp_net.network_id, "subnetworkId": gcp_net.subnetwork_id,
                                                   "egressIps": gcp_net.egress_ips},
                          GkePlumbing())


def _network_opts(opts: pulumi.ResourceOptions, cluster_class: str, cluster_name: str, network_class: str) -> pulumi.ResourceOptions:
    """The network's options: the cluster's cloud provider, and the alias to its old parent and type."""
    return pulumi.ResourceOptions.merge(opts, moved_from_cluster(f"archipelago:clusters:{cluster_class}", cluster_name,
                                                                 f"archipelago:network:{network_class}"))
