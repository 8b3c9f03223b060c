"""The components served as a Pulumi component package (``package/``), for programs in any language.

``PUBLIC_COMPONENTS`` are the components whose args the SDK's analyzer
(``pulumi.provider.experimental``) accepts: a ``TypedDict`` args class of plain values, Inputs and
resource references, every field documented by the string literal after it, outputs as annotated
``pulumi.Output`` class attributes with docstrings, no ``from __future__ import annotations`` in the
module (the analyzer reads ``__init__``'s annotations as objects). ``NOT_YET_PACKAGED`` are the
components that still take the fleet's own models (``ClusterHandle``, ``FleetSpec``...) and wait
for the same conversion; ``BASE_CLASSES`` are abstract bases of public components, never
registered alone. A test keeps the three lists equal to every component in ``components/``.
"""

import pulumi

from components.addons.argocd import ArgoCD, HubRegistration
from components.addons.autoscaling import NodeProvisioning
from components.addons.external_dns import ExternalDns
from components.addons.istio import IstioCluster
from components.addons.metrics import Monitoring
from components.addons.submariner import SubmarinerJoin
from components.addons.velero import Velero, VeleroDrLink
from components.addons.vpa import VerticalPodAutoscaler
from components.clusters.aks import AksCluster
from components.clusters.eks import EksCluster
from components.clusters.gke import GkeCluster
from components.fleet.deployer import DeployerRunner
from components.fleet.dns import DnsFailover
from components.fleet.mesh import IstioMesh
from components.fleet.metrics import FleetMetrics
from components.fleet.ports import FleetPorts
from components.fleet.submariner import Submariner, SubmarinerBroker
from components.network.aws import AwsNetwork
from components.network.azure import AzureNetwork
from components.network.fabric import AwsGateway, AzureGateway, Fabric, GcpGateway, PeeringLink, VpnLink
from components.network.gcp import GcpNetwork
from components.security.baseline import SecurityBaseline
from components.security.mesh_traffic import MeshTraffic
from components.tokens import PACKAGE_NAME

__all__ = ["BASE_CLASSES", "NOT_YET_PACKAGED", "PACKAGE_NAME", "PACKAGE_VERSION", "PUBLIC_COMPONENTS"]

PACKAGE_VERSION = "0.1.0"

PUBLIC_COMPONENTS: list[type[pulumi.ComponentResource]] = [
    SecurityBaseline, EksCluster, AksCluster, GkeCluster, AwsNetwork, AzureNetwork, GcpNetwork,
    SubmarinerJoin, SubmarinerBroker, Submariner,
    AwsGateway, AzureGateway, GcpGateway, VpnLink, PeeringLink, Fabric, DeployerRunner,
    ArgoCD, HubRegistration, VerticalPodAutoscaler, ExternalDns, DnsFailover,
    Velero, VeleroDrLink, NodeProvisioning,
    IstioCluster, IstioMesh, MeshTraffic, Monitoring, FleetMetrics, FleetPorts,
]

BASE_CLASSES: tuple[str, ...] = ("ManagedCluster",)

NOT_YET_PACKAGED: tuple[str, ...] = ()
