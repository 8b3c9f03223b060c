"""Archipelago: a fleet of Kubernetes clusters on AWS, Azure and GCP, run as one system.

Thin composition only: config -> spec -> clusters -> per-cluster baseline and add-ons -> fleet
wiring -> exports. Everything else lives in stacks/ (what) and components/ (how).
"""

import pulumi

from components.addons.autoscaling import node_provisioning
from components.clusters import build_cluster
from components.fleet.deployer import DeployerRunner, Later, deployer_runner_args, fleet_egress_cidrs
from components.fleet.dns import dns_failover
from components.fleet.gitops_backup import argocd_and_velero
from components.fleet.mesh import IstioMesh, istio_mesh_args
from components.fleet.metrics import FleetMetrics, fleet_metrics_args, fleet_vpas
from components.fleet.ports import open_fleet_ports
from components.fleet.submariner import fleet_submariner
from components.network.fabric import build_fabric
from components.providers import CloudProviders
from components.security.baseline import apply_security_baseline
from components.security.mesh_traffic import mesh_traffic
from stacks.fabric import fabric_plan
from stacks.loader import load_spec_from_runtime
from stacks.sections.mesh import INJECTION_LABEL
from stacks.tuning import tune_runtime

tune_runtime()  # before anything registers: see stacks/tuning.py

fleet = load_spec_from_runtime(pulumi.get_stack())
providers = CloudProviders(environment=fleet.environment, gcp_project=fleet.gcp_project)
# A private fleet deploys from a runner inside the management network: each cluster's Kubernetes
# provider waits for the runner's path to its API server, known once the fabric is built (below).
with_runner = fleet.network.enabled and bool(fleet.network.deployer_repository)
api_paths = {c.name: Later() for c in fleet.clusters} if with_runner else {}
# AKS has no private path from the runner but over the Azure VPN gateway (up to 45 minutes to
# create): its API server is public, limited to the fleet's egress addresses (docs/network.md).
aks_egress = {c.name: Later() for c in fleet.clusters if c.cloud == "azure"} if with_runner else {}
handles = [build_cluster(cluster, fleet, providers,
                         api_paths[cluster.name].output if with_runner else None,
                         aks_egress[cluster.name].output if cluster.name in aks_egress else None)
           for cluster in fleet.clusters]
for name, later in aks_egress.items():
    later.resolve_with(fleet_egress_cidrs(handles, name))

# -- security baseline inside every cluster --
injected = fleet.mesh.injected_namespaces()
apply_security_baseline(handles, fleet.security.groups, fleet.security.developer_secrets_read,
                        namespace_labels={ns: INJECTION_LABEL for ns in injected})
fleet_ports = dict(zip([h.name for h in handles], open_fleet_ports(handles, fleet), strict=True))

# -- the private network fabric between clouds and regions (network.fabric) --
fabric_allocation = fabric_plan(fleet)
fabric = build_fabric(fabric_allocation, handles, protect=fleet.baseline.protect_stateful)
if fabric_allocation is not None:
    pulumi.export("fabric", fabric_allocation.summary())
if fabric is not None and fabric_allocation is not None and with_runner:
    # Where `pulumi up` runs for a private fleet: a runner inside the management VPC.
    mgmt = next(h for h in handles if h.is_management)
    runner = DeployerRunner("deployer", deployer_runner_args(mgmt, fleet.network.deployer_repository or ""),
                            # Fleet-level (like the fabric): the cluster's own firewall is the fleet's ports only.
                            pulumi.ResourceOptions(providers=[mgmt.cloud_provider]), egress_ready=mgmt.cloud_outputs.get("egress", []))
    for h in handles:
        api_paths[h.name].resolve("", runner.path_to(h, fabric, fabric_allocation, fleet_ports))
    pulumi.export("deployerRunsOn", runner.runs_on)
for later in api_paths.values():  # no runner was built: no path to wait for
    if not later.done:
        later.resolve("")

# -- add-ons: ArgoCD, Velero, node provisioning --
node_provisioners = [node_provisioning(h, fleet) for h in handles]
argocd_and_velero(fleet, handles)

# -- mesh and connectivity: Istio, Submariner --
mesh = IstioMesh("mesh", istio_mesh_args(fleet, handles))
mesh_traffic(handles, injected)  # the mesh's flows through the namespaces' default-deny

# Submariner: broker on the management cluster, a join on every cluster.
submariner = fleet_submariner(fleet, handles)
pulumi.export("submariner", submariner.summary)
pulumi.export("submarinerBrokerInfo", submariner.component.broker_info)

# -- DNS failover (external-dns into one Route 53 zone), fleet metrics and right-sizing --
fleet_metrics = FleetMetrics("metrics", fleet_metrics_args(
    fleet, handles, export_ready={n: [j.release] for n, j in submariner.component.joins.items()}, unreachable=submariner.not_joined))
fleet_vpas(fleet, handles, fleet_metrics.monitoring)
dns, _ = dns_failover(fleet, handles, providers.aws(fleet.dns.region), {n: [m.release] for n, m in fleet_metrics.monitoring.items()})
pulumi.export("dns", {"zone": fleet.dns.zone, "nameServers": dns.name_servers,
                      "records": {r.name: r.routing for r in fleet.dns.records}})
pulumi.export("metrics", {"hub": fleet_metrics.hub_name, "federates": fleet_metrics.federates,
                          "notFederated": fleet_metrics.not_federated_reasons})

pulumi.export("environment", fleet.environment)
pulumi.export("clusters", {h.name: {"cloud": h.cloud, "region": h.region, "role": h.role,
                                    "endpoint": h.endpoint} for h in handles})
pulumi.export("addressPlan", {c.name: {k: str(v) for k, v in c.network.ranges().items()} for c in fleet.clusters})
pulumi.export("kubeconfigs", {h.name: h.kubeconfig for h in handles})
