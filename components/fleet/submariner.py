"""Submariner across the fleet: the broker on the management cluster, one IPsec PSK for
the fleet, and a join on every cluster (the management cluster included).

The broker is the one shared dependency: each cluster's join waits for the broker's outputs (API
address, client token, CA) and the PSK, never for another cluster's bring-up. After that the
gateways find each other through the broker and build the tunnels themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi
import pulumi_random as random

from components.addons.helm import release
from components.addons.submariner import (
    BrokerConnection,
    SubmarinerJoin,
    SubmarinerJoinArgs,
)
from components.fleet import FleetArgs
from components.fleet.tokens import service_account_token
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.sections.connectivity import global_cidr, submariner_clusters

# Release name == namespace == chart name, so the chart's "fullname" is the release name.
BROKER_NAMESPACE = "submariner-k8s-broker"
BROKER_CLIENT_SA = f"{BROKER_NAMESPACE}-client"
PSK_LENGTH = 64


def api_host_port(endpoint: str) -> str:
    """The broker API address as Submariner stores it: ``host:port``, no scheme."""
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    return parts.netloc if parts.port else f"{parts.netloc}:443"


@dataclass
class SubmarinerBrokerArgs:
    hub: ClusterHandle


class SubmarinerBroker(pulumi.ComponentResource):
    """The broker chart on the hub and the credentials joining clusters use to reach it.

    The chart's Role grants the broker's CRDs and the multicluster resources; its client service
    account is made by the program (chart ``serviceAccounts.client.create: false`` with our name),
    with a token Secret the program reads back as a Pulumi secret.
    """

    def __init__(self, name: str, args: SubmarinerBrokerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:submariner:SubmarinerBroker", name, None, opts)
        hub = args.hub
        # Only CRDs, a Role and a token live here, no pods: restricted.
        self.namespace = pss_namespace(hub, BROKER_NAMESPACE, "restricted", parent=self, logical_name=f"{hub.name}-submariner-broker-ns")
        client = service_account_token(
            hub, namespace=BROKER_NAMESPACE, name=BROKER_CLIENT_SA, cluster_role=None, parent=self,
            logical_prefix=f"{hub.name}-submariner-broker-client", depends_on=[self.namespace],
        )
        self.release = release(
            hub,
            "submariner-k8s-broker",
            release_name=BROKER_NAMESPACE,
            namespace=BROKER_NAMESPACE,
            values={
                "rbac": {"create": True},
                "crd": {"create": True},
                "serviceAccounts": {"client": {"create": False, "name": BROKER_CLIENT_SA}},
            },
            parent=self,
            depends_on=[self.namespace],
            logical_name=f"{hub.name}-submariner-broker",
        )
        self.connection = BrokerConnection(
            server=client.server.apply(api_host_port),
            token=client.token,
            ca=pulumi.Output.secret(client.ca_data),
            namespace=BROKER_NAMESPACE,
            ready=[self.release, *client.resources],
        )
        self.register_outputs({"server": self.connection.server, "token": self.connection.token})


SubmarinerArgs = FleetArgs


class Submariner(pulumi.ComponentResource):
    """Broker, PSK and one join per cluster."""

    def __init__(self, name: str, args: SubmarinerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:submariner:Submariner", name, None, opts)
        fleet, cfg = args.fleet, args.fleet.submariner
        hub = next(h for h in args.handles if h.is_management)
        self.broker = SubmarinerBroker(f"{hub.name}-submariner-broker", SubmarinerBrokerArgs(hub),
                                       pulumi.ResourceOptions(parent=self))
        # Default providers are disabled fleet-wide; pulumi-random needs no settings.
        rand = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        psk = random.RandomPassword(
            f"{name}-ipsec-psk", length=PSK_LENGTH, special=False,
            opts=pulumi.ResourceOptions(parent=self, provider=rand),
        )
        self.psk = pulumi.Output.secret(psk.result)
        # Only clusters whose dataplane Submariner 0.18.1 supports join; the others are listed
        # with the reason (stacks.sections.connectivity.SUBMARINER_SUPPORT).
        joined, self.not_joined = submariner_clusters({h.name: h.cloud for h in args.handles})
        self.joins = {
            h.name: SubmarinerJoin(
                f"{h.name}-submariner",
                SubmarinerJoinArgs(h, self.broker.connection, self.psk, cfg, global_cidr(cfg, h.spec, fleet)),
                pulumi.ResourceOptions(parent=self),
            )
            for h in args.handles if h.name in joined
        }
        conn = self.broker.connection
        # What `subctl join` would need to add a cluster outside this program: one secret output.
        self.broker_info = pulumi.Output.secret(pulumi.Output.all(conn.server, conn.token, conn.ca, self.psk).apply(
            lambda a: {"brokerURL": a[0], "namespace": BROKER_NAMESPACE, "token": a[1], "ca": a[2], "ipsecPSK": a[3]}
        ))
        self.summary = {
            "broker": {"cluster": hub.name, "namespace": BROKER_NAMESPACE, "server": conn.server},
            "cableDriver": cfg.cable_driver,
            "natTraversal": cfg.nat_traversal,
            "globalnet": cfg.globalnet.enabled,
            "clusters": {n: j.cluster_id for n, j in self.joins.items()},
            "notJoined": dict(sorted(self.not_joined.items())),
        }
        self.register_outputs({"summary": self.summary, "brokerInfo": self.broker_info})
