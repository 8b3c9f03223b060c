"""What each cloud sets up outside the cluster for the add-ons that need it, asked through the
ClusterHandle so the add-ons never branch on the cloud.

One implementation per cloud, beside its cluster component (``components/clusters/eks_plumbing.py``,
``aks_plumbing.py``, ``gke_plumbing.py``). Their resources are children of the cluster's component;
``moved_from`` are the URNs the add-on component they used to belong to may have in deployed
stacks (an alias to each keeps them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pulumi

if TYPE_CHECKING:
    from components.addons.autoscaling import NodeProvisioningArgs
    from components.backup_storage import BackupStorage
    from components.handle import ClusterHandle
    from stacks.spec import FleetSpec


class CloudPlumbing(Protocol):
    @property
    def backup_storage(self) -> BackupStorage:
        """Velero's storage in this cloud (bucket, writer identity, DR reader grants)."""
        ...

    def node_provisioning(self, h: ClusterHandle, fleet: FleetSpec, args: NodeProvisioningArgs, *,
                          moved_from: list[pulumi.Input[str]]) -> tuple[NodeProvisioningArgs, list[pulumi.Resource]]:
        """Complete the cloud-neutral NodeProvisioning ``args`` for this cloud (node class,
        requirements, Karpenter's controller) after creating what they need here; returns them
        with the resources the add-on must wait for."""
        ...
