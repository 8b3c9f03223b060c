"""Archipelago: a fleet of Kubernetes clusters on AWS, Azure and GCP, run as one system.

Thin composition only: config -> spec -> clusters -> per-cluster baseline and add-ons -> fleet
wiring -> exports. Everything else lives in stacks/ (what) and components/ (how).
"""

import pulumi

from components.clusters import build_cluster
from components.providers import CloudProviders
from stacks.loader import load_spec_from_runtime

fleet = load_spec_from_runtime(pulumi.get_stack())
providers = CloudProviders(environment=fleet.environment, gcp_project=fleet.gcp_project)
handles = [build_cluster(cluster, fleet, providers) for cluster in fleet.clusters]

# -- security baseline inside every cluster (issue 4) --

# -- add-ons: ArgoCD, Velero, node provisioning (issue 5) --
from components.fleet.gitops_backup import argocd_and_velero  # noqa: E402

argocd_and_velero(fleet, handles)

# -- mesh and connectivity: Istio, Submariner (issue 6) --

pulumi.export("environment", fleet.environment)
pulumi.export("clusters", {h.name: {"cloud": h.cloud, "region": h.region, "role": h.role,
                                    "endpoint": h.endpoint} for h in handles})
pulumi.export("addressPlan", {c.name: {k: str(v) for k, v in c.network.ranges().items()} for c in fleet.clusters})
pulumi.export("kubeconfigs", {h.name: h.kubeconfig for h in handles})
