"""Submariner across clusters: the broker on one cluster, one IPsec PSK for the clusterset, and a
join on every member cluster (the broker's cluster included when it is a member).

The broker is the one shared dependency: each cluster's join waits for the broker's outputs (API
address, client token, CA) and the PSK, never for another cluster's bring-up. After that the
gateways find each other through the broker and build the tunnels themselves.

``SubmarinerBroker`` and ``Submariner`` take plain values and Inputs (components of the package,
``docs/package.md``); :func:`fleet_submariner` is the fleet's composition: which clusters join
(the dataplanes Submariner supports), their ranges and DNS wiring, turned into those args.
"""

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.addons.helm import release_on
from components.addons.submariner import (
    BROKER_NAMESPACE,
    CABLE_DRIVERS,
    SubmarinerJoin,
    SubmarinerJoinArgs,
    cluster_id,
)
from components.fleet.tokens import service_account_token_on
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from stacks.sections.connectivity import SUBMARINER_SUPPORT, global_cidr, submariner_clusters
from stacks.spec import FleetSpec

BROKER_CLIENT_SA = f"{BROKER_NAMESPACE}-client"
PSK_LENGTH = 64


def api_host_port(endpoint: str) -> str:
    """The broker API address as Submariner stores it: ``host:port``, no scheme."""
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    return parts.netloc if parts.port else f"{parts.netloc}:443"


class SubmarinerBrokerArgs(TypedDict):
    """Inputs of a SubmarinerBroker: the cluster that hosts it and how joining clusters reach it."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the broker's cluster; every object is created through it."""
    api_server: pulumi.Input[str]
    """The broker cluster's API server URL as joining clusters reach it (https://host[:port])."""
    ca_data: pulumi.Input[str]
    """Base64 PEM of that API server's CA."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


class SubmarinerBroker(pulumi.ComponentResource):
    """The Submariner broker on one cluster: the submariner-k8s-broker chart (the broker's CRDs and
    a Role over them) in a restricted namespace, and the client service account the joining
    clusters use, with a token Secret read back as a Pulumi secret."""

    server: pulumi.Output[str]
    """The broker API address as Submariner takes it: host:port, no scheme."""
    token: pulumi.Output[str]
    """The broker client service account's bearer token (a secret)."""
    ca: pulumi.Output[str]
    """Base64 PEM of the broker API server's CA (a secret)."""
    namespace: pulumi.Output[str]
    """The broker's namespace (submariner-k8s-broker)."""

    def __init__(self, name: str, args: SubmarinerBrokerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(SubmarinerBroker), name, None, renamed_from("archipelago:submariner:SubmarinerBroker", opts))
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        # Only CRDs, a Role and a token live here, no pods: restricted.
        self.namespace_object = pss_namespace_on(provider, BROKER_NAMESPACE, "restricted", parent=self,
                                                 logical_name=f"{prefix}-ns")
        # The chart's Role binds this service account (chart serviceAccounts.client.create: false
        # with our name): the program makes it, so it can read the token back.
        client = service_account_token_on(
            provider, server=args["api_server"], ca_data=args["ca_data"], namespace=BROKER_NAMESPACE,
            name=BROKER_CLIENT_SA, cluster_role=None, parent=self, logical_prefix=f"{prefix}-client",
            depends_on=[self.namespace_object],
        )
        # Release name == namespace == chart name, so the chart's "fullname" is the release name.
        self.release = release_on(
            provider,
            "submariner-k8s-broker",
            logical_name=prefix,
            release_name=BROKER_NAMESPACE,
            namespace=BROKER_NAMESPACE,
            values={
                "rbac": {"create": True},
                "crd": {"create": True},
                "serviceAccounts": {"client": {"create": False, "name": BROKER_CLIENT_SA}},
            },
            parent=self,
            depends_on=[self.namespace_object],
        )
        # Python-only handle: what a join must wait for.
        self.ready: list[pulumi.Resource] = [self.release, *client.resources]
        self.server = client.server.apply(api_host_port)
        self.token = client.token
        self.ca = pulumi.Output.secret(client.ca_data)
        self.namespace = pulumi.Output.from_input(BROKER_NAMESPACE)
        self.register_outputs({"server": self.server, "token": self.token, "ca": self.ca, "namespace": self.namespace})


class BrokerClusterArgs(TypedDict):
    """The cluster that hosts the broker."""

    name: str
    """The cluster's name; the broker component is named <name>-submariner-broker."""
    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the broker's cluster."""
    api_server: pulumi.Input[str]
    """Its API server URL as joining clusters reach it (https://host[:port])."""
    ca_data: pulumi.Input[str]
    """Base64 PEM of that API server's CA."""


class MemberClusterArgs(TypedDict):
    """A cluster that joins the clusterset."""

    cluster_id: str
    """Submariner's cluster ID: a DNS-1123 label, unique in the clusterset; the join is named
    <clusterId>-submariner."""
    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster."""
    cluster_cidr: pulumi.Input[str]
    """The cluster's pod range (IPv4 CIDR)."""
    service_cidr: str
    """The cluster's Service range (IPv4 CIDR)."""
    global_cidr: NotRequired[str]
    """The cluster's Globalnet slice (IPv4 CIDR). Default: none (Globalnet off)."""
    cluster_dns: NotRequired[str]
    """How clusterset.local reaches Lighthouse: coredns, coredns-custom or kube-dns (see
    SubmarinerJoin). Default: coredns."""


class SubmarinerArgs(TypedDict):
    """Inputs of a Submariner clusterset: the broker's cluster, the member clusters, the cable."""

    broker: BrokerClusterArgs
    """The cluster that hosts the broker (it joins only when it is also listed in clusters)."""
    clusters: list[MemberClusterArgs]
    """The clusters that join; their cluster IDs must be unique, their ranges disjoint unless each
    has a globalCidr."""
    cable_driver: NotRequired[str]
    """libreswan (IPsec), wireguard, or vxlan (unencrypted). Default: libreswan."""
    nat_traversal: NotRequired[bool]
    """Gateways reach each other through NAT / public IPs; false over a private network. Default: true."""
    name_prefix: NotRequired[str]
    """Prefix of the logical names of the PSK and its provider. Default: the component's own name."""


def _check_args(args: SubmarinerArgs) -> None:
    ids = [cluster_id(c["cluster_id"]) for c in args["clusters"]]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"clusters: cluster IDs {', '.join(dupes)} appear more than once")
    if args.get("cable_driver", "libreswan") not in CABLE_DRIVERS:
        raise ValueError(f"cableDriver: {args.get('cable_driver')!r} is not one of {', '.join(CABLE_DRIVERS)}")
    with_global = {bool(c.get("global_cidr")) for c in args["clusters"]}
    if len(with_global) > 1:
        raise ValueError("clusters: globalCidr is set on some clusters and not others (Globalnet is clusterset-wide)")


class Submariner(pulumi.ComponentResource):
    """A Submariner clusterset: the broker on one cluster, one random IPsec PSK, and a join on every
    member cluster, each waiting only for the broker and the PSK."""

    broker_server: pulumi.Output[str]
    """The broker API address (host:port) every join uses."""
    cluster_ids: pulumi.Output[list[str]]
    """The cluster IDs of the clusters that joined."""
    broker_info: pulumi.Output[dict[str, str]]
    """What `subctl join` needs to add a cluster outside this program (a secret): brokerURL,
    namespace, token, ca, ipsecPSK."""

    def __init__(self, name: str, args: SubmarinerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(Submariner), name, None, renamed_from("archipelago:submariner:Submariner", opts))
        _check_args(args)
        prefix = args.get("name_prefix") or name
        hub = args["broker"]
        # Python-only handles: the broker and the joins, for code that waits on them.
        self.broker = SubmarinerBroker(
            f"{hub['name']}-submariner-broker",
            SubmarinerBrokerArgs(kubernetes_provider=hub["kubernetes_provider"], api_server=hub["api_server"],
                                 ca_data=hub["ca_data"]),
            pulumi.ResourceOptions(parent=self))
        # Default providers are disabled fleet-wide; pulumi-random needs no settings.
        rand = random.Provider(f"{prefix}-random", opts=pulumi.ResourceOptions(parent=self))
        psk = random.RandomPassword(
            f"{prefix}-ipsec-psk", length=PSK_LENGTH, special=False,
            opts=pulumi.ResourceOptions(parent=self, provider=rand),
        )
        self.psk = pulumi.Output.secret(psk.result)
        b = self.broker
        self.joins: dict[str, SubmarinerJoin] = {}
        for c in args["clusters"]:
            join_args = SubmarinerJoinArgs(
                kubernetes_provider=c["kubernetes_provider"], cluster_id=c["cluster_id"], cluster_cidr=c["cluster_cidr"],
                service_cidr=c["service_cidr"], broker_server=b.server, broker_token=b.token, broker_ca=b.ca,
                ipsec_psk=self.psk, broker_namespace=BROKER_NAMESPACE,
                cable_driver=args.get("cable_driver", "libreswan"), nat_traversal=args.get("nat_traversal", True),
                cluster_dns=c.get("cluster_dns", "coredns"))
            g = c.get("global_cidr")
            if g:
                join_args["global_cidr"] = g
            self.joins[c["cluster_id"]] = SubmarinerJoin(
                f"{c['cluster_id']}-submariner", join_args, pulumi.ResourceOptions(parent=self, depends_on=b.ready))
        self.broker_server = b.server
        self.cluster_ids = pulumi.Output.from_input([c["cluster_id"] for c in args["clusters"]])
        self.broker_info = pulumi.Output.secret(pulumi.Output.all(b.server, b.token, b.ca, self.psk).apply(
            lambda a: {"brokerURL": a[0], "namespace": BROKER_NAMESPACE, "token": a[1], "ca": a[2], "ipsecPSK": a[3]}
        ))
        self.register_outputs({"brokerServer": self.broker_server, "clusterIds": self.cluster_ids,
                               "brokerInfo": self.broker_info})


@dataclass
class FleetSubmariner:
    """The fleet's Submariner: the component, which clusters did not join and why, and the summary
    the program exports."""

    component: Submariner
    not_joined: dict[str, str]
    summary: dict[str, Any]


def submariner_args(fleet: FleetSpec, handles: list[ClusterHandle]) -> tuple[SubmarinerArgs, dict[str, str]]:
    """The fleet as Submariner args: the broker on the management cluster, every cluster whose
    dataplane Submariner 0.18.1 supports as a member (the others with the reason,
    stacks.sections.connectivity.SUBMARINER_SUPPORT), its DNS wiring asked of that table."""
    cfg = fleet.submariner
    hub = next(h for h in handles if h.is_management)
    joined, not_joined = submariner_clusters({h.name: h.cloud for h in handles})
    members: list[MemberClusterArgs] = []
    for h in handles:
        if h.name not in joined:
            continue
        member = MemberClusterArgs(cluster_id=h.name, kubernetes_provider=h.provider, cluster_cidr=str(h.network.pods),
                                   service_cidr=str(h.network.services), cluster_dns=SUBMARINER_SUPPORT[h.cloud].dns)
        g = global_cidr(cfg, h.spec, fleet)
        if g is not None:
            member["global_cidr"] = str(g)
        members.append(member)
    args = SubmarinerArgs(
        broker=BrokerClusterArgs(name=hub.name, kubernetes_provider=hub.provider, api_server=hub.endpoint, ca_data=hub.ca_data),
        clusters=members, cable_driver=cfg.cable_driver, nat_traversal=cfg.nat_traversal)
    return args, not_joined


def fleet_submariner(fleet: FleetSpec, handles: list[ClusterHandle], name: str = "submariner") -> FleetSubmariner:
    """The fleet's composition: one Submariner clusterset over the clusters that can join."""
    args, not_joined = submariner_args(fleet, handles)
    component = Submariner(name, args)
    cfg = fleet.submariner
    summary = {
        "broker": {"cluster": args["broker"]["name"], "namespace": BROKER_NAMESPACE, "server": component.broker_server},
        "cableDriver": cfg.cable_driver,
        "natTraversal": cfg.nat_traversal,
        "globalnet": cfg.globalnet.enabled,
        "clusters": {c["cluster_id"]: c["cluster_id"] for c in args["clusters"]},
        "notJoined": dict(sorted(not_joined.items())),
    }
    return FleetSubmariner(component, not_joined, summary)
