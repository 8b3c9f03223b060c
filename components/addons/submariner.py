"""Submariner on one cluster: the operator chart, joined to the fleet's broker.

The ``submariner-operator`` chart renders a ``Submariner`` resource from its values; the operator
then runs the gateway (the inter-cluster tunnel endpoint), a route agent on every node and
Lighthouse (the ``clusterset.local`` DNS server and agent). What this cluster needs from the rest
of the fleet comes in as :class:`BrokerConnection` and the fleet's IPsec PSK: nothing else links
it to another cluster.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.addons.helm import release
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.sections.connectivity import SubmarinerConfig
from stacks.versions import SUBMARINER_IMAGE_TAG

# The chart's Submariner resource is hard-coded to this namespace, so the release must live here.
OPERATOR_NAMESPACE = "submariner-operator"
IKE_PORT = 500
NATT_PORT = 4500  # IPsec NAT-T; also the encapsulation port of the wireguard and vxlan drivers
PRIVILEGED_REASON = (
    "Submariner's gateway and route-agent pods run with hostNetwork and privileged/NET_ADMIN: they "
    "program IPsec/WireGuard tunnels, routes and iptables rules on the node."
)


@dataclass
class BrokerConnection:
    """How a joining cluster reaches the broker: all of it read back from the broker cluster."""

    server: pulumi.Output[str]  # host:port of the broker cluster's API server
    token: pulumi.Output[str]  # secret: the broker client service account's token
    ca: pulumi.Output[str]  # secret: base64 PEM of the broker API server's CA
    namespace: str
    ready: list[pulumi.Resource] = field(default_factory=list)  # the broker must exist before joins


@dataclass
class SubmarinerJoinArgs:
    handle: ClusterHandle
    broker: BrokerConnection
    psk: pulumi.Output[str]  # secret, the same on every cluster
    config: SubmarinerConfig
    global_cidr: ipaddress.IPv4Network | None = None


def cluster_id(name: str) -> str:
    """Submariner's cluster ID: a unique DNS-1123 label. Cluster names already are (the config
    enforces the pattern, the length and uniqueness), so the ID is the name itself."""
    if not (name and len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
            and all(ch.isdigit() or ("a" <= ch <= "z") or ch == "-" for ch in name)):
        raise ValueError(f"cluster name {name!r} is not a DNS-1123 label, so not a Submariner cluster ID")
    return name


def join_values(args: SubmarinerJoinArgs) -> dict[str, Any]:
    """Values of the submariner-operator chart (keys as in its values.yaml at the pinned version).

    Secret leaves (token, CA, PSK) stay Outputs so that only they are masked, not the whole map.
    """
    h, cfg = args.handle, args.config
    return {
        "broker": {
            "server": args.broker.server,
            "token": args.broker.token,
            "ca": args.broker.ca,
            "namespace": args.broker.namespace,
            "insecure": False,
            "globalnet": cfg.globalnet.enabled,
        },
        "submariner": {
            "clusterId": cluster_id(h.name),
            # Managed CNIs are not in the operator's auto-discovery list: state the ranges.
            "clusterCidr": str(h.network.pods),
            "serviceCidr": str(h.network.services),
            "globalCidr": str(args.global_cidr) if args.global_cidr else "",
            "natEnabled": cfg.nat_traversal,
            "cableDriver": cfg.cable_driver,
            "serviceDiscovery": cfg.service_discovery,
            "healthcheckEnabled": True,
            "images": {"tag": SUBMARINER_IMAGE_TAG},
        },
        "ipsec": {
            "psk": args.psk,
            # ESP always inside UDP: crosses NAT and keeps the firewall to UDP ports only.
            "forceUDPEncaps": True,
            "ikePort": IKE_PORT,
            "natPort": NATT_PORT,
        },
        "operator": {"image": {"tag": SUBMARINER_IMAGE_TAG}},
    }


class SubmarinerJoin(pulumi.ComponentResource):
    """The Submariner operator on ``args.handle``'s cluster, joined to the broker."""

    def __init__(self, name: str, args: SubmarinerJoinArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:submariner:SubmarinerJoin", name, None, opts)
        h = args.handle
        self.cluster_id = cluster_id(h.name)
        self.namespace = pss_namespace(h, OPERATOR_NAMESPACE, "privileged", parent=self, reason=PRIVILEGED_REASON,
                                       logical_name=f"{h.name}-submariner-ns")
        self.release = release(
            h,
            "submariner-operator",
            release_name="submariner-operator",
            namespace=OPERATOR_NAMESPACE,
            values=join_values(args),
            parent=self,
            depends_on=[self.namespace, *args.broker.ready],
            logical_name=f"{h.name}-submariner-operator",
        )
        self.register_outputs({"clusterId": self.cluster_id, "status": self.release.status})
