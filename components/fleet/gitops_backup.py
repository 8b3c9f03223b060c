"""Composition of the Argo CD and Velero add-ons over the fleet.

Per cluster: Velero everywhere; Argo CD on the hub and on standalone clusters. Fleet links hang
off clusters and nothing waits for them: hub registrations (spoke token -> cluster Secret on the
hub) and DR links (peer storage grant -> read-only location on the reader).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import naming
from components.addons.argocd import ArgoCD, HubRegistration, argocd_args, hub_registration_args
from components.addons.velero import ClusterBackup, VeleroDrLink, fleet_backups
from components.handle import ClusterHandle
from stacks.spec import FleetSpec


@dataclass
class GitOpsAndBackups:
    velero: dict[str, ClusterBackup]
    argocd: dict[str, ArgoCD]
    registrations: dict[str, HubRegistration]
    dr_links: dict[str, VeleroDrLink]


def argocd_and_velero(fleet: FleetSpec, handles: list[ClusterHandle]) -> GitOpsAndBackups:
    peers = fleet.backup.dr_peers
    velero, dr_links = fleet_backups(handles, fleet.backup, protect=fleet.baseline.protect_stateful,
                                     key_rotation_days=fleet.baseline.kms_rotation_days)

    settings = fleet.argocd
    hub = next(h for h in handles if h.is_management)
    standalone = set(settings.standalone)
    spokes = [h for h in handles if not h.is_management and h.name not in standalone]
    argocd = {hub.name: ArgoCD(naming.logical(hub.name, "argocd"), argocd_args(hub, settings, fleet.environment, hub=True, spokes=spokes),
                               pulumi.ResourceOptions(parent=hub.component))}
    for h in handles:
        if h.name in standalone:
            argocd[h.name] = ArgoCD(naming.logical(h.name, "argocd"), argocd_args(h, settings, fleet.environment, hub=False),
                                    pulumi.ResourceOptions(parent=h.component))
    registrations = {
        s.name: HubRegistration(
            naming.logical(s.name, "argocd-hub"),
            hub_registration_args(hub, s, settings, fleet.environment, velero[s.name].hub_annotations),
            hub_ready=[argocd[hub.name].namespace], namespaces_ready=s.app_namespaces)
        for s in spokes
    }
    pulumi.export("argocd", {"hub": hub.name, "spokes": sorted(registrations), "standalone": sorted(standalone)})
    pulumi.export("velero", {name: {"bucket": v.velero.bucket, "drPeer": peers.get(name)} for name, v in velero.items()})
    return GitOpsAndBackups(velero, argocd, registrations, dr_links)
