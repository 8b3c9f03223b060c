"""The security baseline, per environment, in one table.

Every hardening switch the cluster components apply is read from a :class:`Baseline`. ``prod``
and ``staging`` are strict; ``dev`` relaxes only the items named in ``DEV_RELAXES`` (cost and
teardown conveniences), never encryption, identity, private nodes or audit logging.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Baseline:
    # Control plane access. The private endpoint is always on. A public endpoint exists only where
    # the baseline allows one AND ``security.apiAllowedCidrs`` is set, and then only for those CIDRs
    # (never 0.0.0.0/0, rejected by the config model).
    private_endpoint: bool = True
    public_api_endpoint: bool = False
    # Audit and API logs shipped by each cloud.
    eks_log_types: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
    # Secrets encryption with a customer-managed key (EKS KMS, AKS Key Vault KMS, GKE Cloud KMS).
    kms_rotation_days: int = 365
    # Nodes: IMDSv2 only; hop limit 1 keeps pods (which use workload identity) off the node role.
    imds_hop_limit: int = 1
    encrypted_node_volumes: bool = True
    # AKS
    aks_sku_tier: str = "Standard"
    aks_upgrade_channel: str = "patch"
    aks_node_os_upgrade_channel: str = "NodeImage"
    # GKE
    gke_release_channel: str = "REGULAR"
    gke_binary_authorization: str = "PROJECT_SINGLETON_POLICY_ENFORCE"
    gke_security_posture: str = "BASIC"
    # VULNERABILITY_BASIC (standard workload vulnerability scanning) was removed on 2025-07-31 and
    # can no longer be enabled; ENTERPRISE needs GKE Enterprise. Scan images in the registry instead.
    gke_vulnerability_mode: str = "VULNERABILITY_DISABLED"
    # Key Vault (AKS KMS): purge protection (irreversible once on) and soft-delete retention (7-90 days).
    key_vault_purge_protection: bool = True
    key_vault_retention_days: int = 90
    # Lifecycle: refuse accidental deletion of clusters, backup storage and keys.
    deletion_protection: bool = True
    protect_stateful: bool = True
    # Cost: one NAT gateway per zone (no cross-zone egress dependency).
    nat_per_zone: bool = True


PROD = Baseline()

# What dev relaxes, and why. Nothing here weakens encryption, identity, private nodes or logs.
DEV_RELAXES: dict[str, tuple[object, str]] = {
    "public_api_endpoint": (True, "engineers reach dev API servers from the configured office/VPN CIDRs"),
    "aks_sku_tier": ("Free", "no uptime SLA needed for dev"),
    "deletion_protection": (False, "dev clusters are torn down freely"),
    "protect_stateful": (False, "dev backup buckets and keys may be destroyed with the stack"),
    "nat_per_zone": (False, "one shared NAT gateway per VPC is cheaper"),
    "key_vault_purge_protection": (False, "dev is destroyed and re-created; purge protection would hold the vault for its retention"),
    "key_vault_retention_days": (7, "a destroyed dev vault is purgeable after a week"),
    "gke_binary_authorization": ("DISABLED", "dev pulls unsigned images"),
    "gke_release_channel": ("RAPID", "dev tries new versions first"),
}

DEV = replace(PROD, **{k: v for k, (v, _why) in DEV_RELAXES.items()})

# Namespaces every cluster gets for applications: PSS restricted, default-deny network policy,
# the targets of ``security.groups[].namespaceRoles``.
APPLICATION_NAMESPACES: tuple[str, ...] = ("production", "staging")

BASELINES: dict[str, Baseline] = {"prod": PROD, "staging": PROD, "dev": DEV}


def baseline_for(environment: str) -> Baseline:
    return BASELINES[environment]
