"""Managed clusters per cloud. :func:`build_cluster` is the one place that picks EKS, AKS or GKE."""

from __future__ import annotations

import pulumi

from components.clusters.base import ClusterArgs
from components.handle import ClusterHandle
from components.providers import CloudProviders
from stacks.spec import ClusterSpec, FleetSpec


def build_cluster(cluster: ClusterSpec, fleet: FleetSpec, providers: CloudProviders) -> ClusterHandle:
    provider = providers.for_cluster(cluster.cloud, cluster.region)
    opts = pulumi.ResourceOptions()
    if cluster.cloud == "aws":
        from components.clusters.eks import EksCluster

        return EksCluster(cluster.name, ClusterArgs(cluster, fleet, provider), opts).handle
    if cluster.cloud == "azure":
        from components.clusters.aks import AksCluster

        return AksCluster(cluster.name, ClusterArgs(cluster, fleet, provider), opts).handle
    from components.clusters.gke import GkeCluster

    return GkeCluster(cluster.name, ClusterArgs(cluster, fleet, provider), opts).handle
