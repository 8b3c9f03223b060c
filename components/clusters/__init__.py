"""Managed clusters per cloud. :func:`build_cluster` is the one place that picks EKS, AKS or GKE."""

from __future__ import annotations

import pulumi

from components.handle import ClusterHandle
from components.providers import CloudProviders
from stacks.spec import ClusterSpec, FleetSpec


def build_cluster(cluster: ClusterSpec, fleet: FleetSpec, providers: CloudProviders) -> ClusterHandle:
    provider = providers.for_cluster(cluster.cloud, cluster.region)
    opts = pulumi.ResourceOptions()
    if cluster.cloud == "aws":
        from components.clusters.eks import EksCluster, EksClusterArgs

        return EksCluster(cluster.name, EksClusterArgs(cluster, fleet, provider), opts).handle
    if cluster.cloud == "azure":
        from components.clusters.aks import AksCluster, AksClusterArgs

        return AksCluster(cluster.name, AksClusterArgs(cluster, fleet, provider), opts).handle
    from components.clusters.gke import GkeCluster, GkeClusterArgs

    return GkeCluster(cluster.name, GkeClusterArgs(cluster, fleet, provider), opts).handle
