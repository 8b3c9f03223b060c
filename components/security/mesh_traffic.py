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

import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.addons.istio import CROSS_NETWORK_PORT, EASTWEST_LABELS, ISTIO_NAMESPACE, check_cidrs
from components.handle import ClusterHandle
from components.tokens import component_type, renamed_from
from stacks.config import DNS_LABEL
from stacks.sections.mesh import INJECTION_LABEL

ISTIOD_PORT = 15012
ISTIOD_LABELS = {"app": "istiod"}
NS_NAME = "kubernetes.io/metadata.name"


class MeshTrafficArgs(TypedDict):
    """Inputs of a MeshTraffic: the cluster, its injected namespaces, where the other gateways are."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every NetworkPolicy is created through it."""
    namespaces: list[str]
    """The application namespaces labelled for sidecar injection (DNS-1123 labels); each gets the
    three policies."""
    remote_gateway_ranges: NotRequired[list[str]]
    """CIDRs where the other clusters' east-west gateways listen (their node/VPC ranges): egress to
    them on TCP 15443. Default: none (a single-cluster mesh)."""
    namespace_resources: NotRequired[dict[str, k8s.core.v1.Namespace]]
    """Namespace name -> the Namespace object the policies wait for (e.g. a SecurityBaseline's).
    Default: none."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def _ns(name: str) -> k8s.meta.v1.LabelSelectorArgs:
    return k8s.meta.v1.LabelSelectorArgs(match_labels={NS_NAME: name})


class MeshTraffic(pulumi.ComponentResource):
    """The Istio mesh's own traffic through default-deny application namespaces, and nothing else:
    egress to istiod, sidecar-to-sidecar between injected namespaces, ingress from this cluster's
    east-west gateway and egress to the other clusters' gateways."""

    policy_names: pulumi.Output[list[str]]
    """namespace/name of every NetworkPolicy created."""

    def __init__(self, name: str, args: MeshTrafficArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(MeshTraffic), name, None, renamed_from("archipelago:security:MeshTraffic", opts))
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        for ns in args["namespaces"]:
            if not re.fullmatch(DNS_LABEL, ns) or len(ns) > 63:
                raise ValueError(f"namespaces: {ns!r} is not a DNS-1123 label")
        remote = list(args.get("remote_gateway_ranges") or [])
        check_cidrs("remoteGatewayRanges", remote)
        objects = args.get("namespace_resources") or {}
        injected = k8s.meta.v1.LabelSelectorArgs(match_labels=INJECTION_LABEL)
        eastwest = k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=_ns(ISTIO_NAMESPACE),
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"istio": EASTWEST_LABELS["istio"]}),
        )
        self.policies: list[k8s.networking.v1.NetworkPolicy] = []
        for ns in args["namespaces"]:
            obj = objects.get(ns)
            opts_ns = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[obj] if obj is not None else [])

            def policy(pname: str, spec: k8s.networking.v1.NetworkPolicySpecArgs, ns: str = ns,
                       opts_ns: pulumi.ResourceOptions = opts_ns) -> None:
                self.policies.append(k8s.networking.v1.NetworkPolicy(
                    f"{prefix}-{ns}-{pname}", metadata=k8s.meta.v1.ObjectMetaArgs(name=pname, namespace=ns), spec=spec, opts=opts_ns,
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
            if remote:
                egress = [k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=str(n)))
                        for n in remote],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=CROSS_NETWORK_PORT)],
                )]
            policy("mesh-eastwest", k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=everyone, policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[eastwest])],
                egress=egress,
            ))
        self.policy_names = pulumi.Output.all(*[pulumi.Output.all(p.metadata.namespace, p.metadata.name).apply(  # type: ignore[attr-defined]
            lambda v: f"{v[0]}/{v[1]}") for p in self.policies]).apply(list)
        self.register_outputs({"policies": len(self.policies), "policyNames": self.policy_names})


def mesh_traffic(handles: list[ClusterHandle], namespaces: tuple[str, ...]) -> list[MeshTraffic]:
    """The fleet's composition: one MeshTraffic per cluster, under the cluster, its children named
    from the cluster, the other clusters' VPC ranges as the remote gateways' (order-free)."""
    out = []
    for h in handles:
        remote = sorted(other.network.vpc for other in handles if other.name != h.name)
        out.append(MeshTraffic(f"{h.name}-mesh-traffic", MeshTrafficArgs(
            kubernetes_provider=h.provider, namespaces=list(namespaces), remote_gateway_ranges=[str(n) for n in remote],
            namespace_resources={ns: obj for ns, obj in h.app_namespaces.items() if ns in namespaces},  # type: ignore[misc]
            name_prefix=h.name), pulumi.ResourceOptions(parent=h.component)))
    return out
