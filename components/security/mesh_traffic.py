"""The mesh's traffic through the application namespaces' default-deny: exactly its flows.

The security baseline denies all ingress and egress in every application namespace except DNS.
In each namespace labelled for sidecar injection this adds, and nothing else:

- ``mesh-istiod``: egress to istiod (``app: istiod`` in ``istio-system``) on TCP 15012, the port
  sidecars fetch config (XDS) and certificates (CA) from (istiod chart 1.30.3,
  templates/deployment.yaml containerPort 15012);
- ``mesh-sidecars``: ingress from and egress to pods of every injected namespace (sidecar to
  sidecar mTLS, on whatever ports the applications serve);
- ``mesh-eastwest``: ingress from this cluster's east-west gateway (cross-network requests arrive
  through it, AUTO_PASSTHROUGH) and egress on TCP 15443 to the other clusters' east-west gateways,
  whose internal load balancer addresses lie in those clusters' node (VPC) ranges.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.addons.istio import CROSS_NETWORK_PORT, EASTWEST_LABELS, ISTIO_NAMESPACE
from components.handle import ClusterHandle
from stacks.sections.mesh import INJECTION_LABEL

ISTIOD_PORT = 15012
ISTIOD_LABELS = {"app": "istiod"}
NS_NAME = "kubernetes.io/metadata.name"


@dataclass
class MeshTrafficArgs:
    handle: ClusterHandle
    namespaces: tuple[str, ...]  # injected application namespaces
    # Where the other clusters' east-west gateways live: their VPC/node ranges.
    remote_gateway_ranges: list[ipaddress.IPv4Network]


def _ns(name: str) -> k8s.meta.v1.LabelSelectorArgs:
    return k8s.meta.v1.LabelSelectorArgs(match_labels={NS_NAME: name})


class MeshTraffic(pulumi.ComponentResource):
    policies: list[k8s.networking.v1.NetworkPolicy]

    def __init__(self, name: str, args: MeshTrafficArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:security:MeshTraffic", name, None, opts)
        h = args.handle
        injected = k8s.meta.v1.LabelSelectorArgs(match_labels=INJECTION_LABEL)
        eastwest = k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=_ns(ISTIO_NAMESPACE),
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"istio": EASTWEST_LABELS["istio"]}),
        )
        self.policies = []
        for ns in args.namespaces:
            obj = h.app_namespaces.get(ns)
            opts_ns = h.k8s_opts(self, depends_on=[obj] if obj is not None else [])

            def policy(pname: str, spec: k8s.networking.v1.NetworkPolicySpecArgs, ns: str = ns,
                       opts_ns: pulumi.ResourceOptions = opts_ns) -> None:
                self.policies.append(k8s.networking.v1.NetworkPolicy(
                    f"{h.name}-{ns}-{pname}", metadata=k8s.meta.v1.ObjectMetaArgs(name=pname, namespace=ns), spec=spec, opts=opts_ns,
                ))

            everyone = k8s.meta.v1.LabelSelectorArgs()
            policy("mesh-istiod", k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=everyone, policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=_ns(ISTIO_NAMESPACE),
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=ISTIOD_LABELS))],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=ISTIOD_PORT)],
                )],
            ))
            sidecars = k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector=injected)
            policy("mesh-sidecars", k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=everyone, policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[sidecars])],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[sidecars])],
            ))
            egress = []
            if args.remote_gateway_ranges:
                egress = [k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=str(n)))
                        for n in args.remote_gateway_ranges],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=CROSS_NETWORK_PORT)],
                )]
            policy("mesh-eastwest", k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=everyone, policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[eastwest])],
                egress=egress,
            ))
        self.register_outputs({"policies": len(self.policies)})


def mesh_traffic(handles: list[ClusterHandle], namespaces: tuple[str, ...]) -> list[MeshTraffic]:
    out = []
    for h in handles:
        remote = sorted(other.network.vpc for other in handles if other.name != h.name)  # order-free
        out.append(MeshTraffic(f"{h.name}-mesh-traffic", MeshTrafficArgs(h, namespaces, remote),
                               pulumi.ResourceOptions(parent=h.component)))
    return out
