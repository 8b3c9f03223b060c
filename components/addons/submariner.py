"""Submariner on one cluster: the operator chart, joined to the fleet's broker.

The ``submariner-operator`` chart renders a ``Submariner`` resource from its values; the operator
then runs the gateway (the inter-cluster tunnel endpoint), a route agent on every node and
Lighthouse (the ``clusterset.local`` DNS server and agent). What this cluster needs from the rest
of the fleet comes in as :class:`BrokerConnection` and the fleet's IPsec PSK: nothing else links
it to another cluster.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.addons.helm import release
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.sections.connectivity import (
    AKS_COREDNS_CUSTOM,
    SUBMARINER_SUPPORT,
    SubmarinerConfig,
    SubmarinerSupport,
    lighthouse_dns_ip,
)
from stacks.versions import SUBMARINER_IMAGE_TAG

# The chart's Submariner resource is hard-coded to this namespace, so the release must live here.
OPERATOR_NAMESPACE = "submariner-operator"
IKE_PORT = 500
NATT_PORT = 4500  # IPsec NAT-T; also the encapsulation port of the wireguard and vxlan drivers
# The PSK and the broker token stay inline in the chart's Submariner resource. The v0.18.1
# operator has Secret references (``ceIPSecPSKSecret``, ``brokerK8sSecret``), but the chart
# 0.18.1 installs its own, older copy of the CRD (crds/crd.yaml): it has neither field, requires
# ``ceIPSecPSK`` and ``brokerK8sApiServerToken``, and a structural schema prunes unknown fields, so
# a reference would be dropped silently. The operator also builds its own broker client from the
# inline token even when ``brokerK8sSecret`` is set (controllers/submariner/submariner_controller.go
# getAuthorizedBrokerClientFor, "TODO Read the secret"). Both stay Pulumi secrets in the plan and
# state; in the cluster they are readable by whoever can read Submariner resources (the
# operator's RBAC and cluster admins). tests/test_submariner.py pins these facts.
SECRETS_INLINE_REASON = "chart 0.18.1's CRD copy has no Secret references"

# Lighthouse's CoreDNS pods (submariner-operator controllers/servicediscovery: app label).
LIGHTHOUSE_DNS_APP = "submariner-lighthouse-coredns"
LIGHTHOUSE_DNS_FIXED = "submariner-lighthouse-dns-fixed"
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
    Token and PSK stay inline (:data:`SECRETS_INLINE_REASON`, and the note above it).
    """
    h, cfg = args.handle, args.config
    support: SubmarinerSupport = SUBMARINER_SUPPORT[h.cloud]
    values: dict[str, Any] = {
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
    if support.dns == "coredns-custom":
        # The operator writes ``lighthouse.server`` there instead of editing ``coredns``
        # (controllers/servicediscovery/servicediscovery_controller.go updateDNSCustomConfigMap).
        values["submariner"]["coreDNSCustomConfig"] = dict(AKS_COREDNS_CUSTOM)
    return values


def kube_dns_stub_domains(ip: str) -> str:
    """kube-dns ``stubDomains`` (JSON) sending clusterset.local to Lighthouse's DNS."""
    return json.dumps({"clusterset.local": [ip]})


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
        after = h.k8s_opts(self, depends_on=[self.release])
        if SUBMARINER_SUPPORT[h.cloud].dns == "kube-dns":
            self._kube_dns_stub(h, after)
        self.register_outputs({"clusterId": self.cluster_id, "status": self.release.status})

    def _kube_dns_stub(self, h: ClusterHandle, opts: pulumi.ResourceOptions) -> None:
        """kube-dns has no Corefile for the operator to edit: a Service with a fixed ClusterIP in
        front of Lighthouse's DNS pods, and a stub domain to it."""
        ip = lighthouse_dns_ip(h.network.services)
        k8s.core.v1.Service(
            f"{h.name}-submariner-lighthouse-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=LIGHTHOUSE_DNS_FIXED, namespace=OPERATOR_NAMESPACE),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip=ip, selector={"app": LIGHTHOUSE_DNS_APP},
                ports=[k8s.core.v1.ServicePortArgs(name="udp", port=53, target_port=53, protocol="UDP"),
                       k8s.core.v1.ServicePortArgs(name="tcp", port=53, target_port=53, protocol="TCP")]),
            opts=opts)
        k8s.core.v1.ConfigMapPatch(
            f"{h.name}-kube-dns-clusterset",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="kube-dns", namespace="kube-system",
                                                     annotations={"pulumi.com/patchForce": "true"}),
            data={"stubDomains": kube_dns_stub_domains(ip)}, opts=opts)
