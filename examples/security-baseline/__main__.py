"""SecurityBaseline on its own: one Kubernetes provider from a kubeconfig, the baseline with two
groups, and a second instance in the same program (children are named from each instance's name).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)" && pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.security.baseline import SecurityBaseline, SecurityBaselineArgs

config = pulumi.Config()
kubeconfig = config.get_secret("kubeconfig") or "{}"
provider = k8s.Provider("cluster", kubeconfig=kubeconfig)

team = SecurityBaseline(
    "team-a",
    SecurityBaselineArgs(
        kubernetes_provider=provider,
        namespaces=["shop", "shop-staging"],
        groups=[
            {"name": "platform@example.com", "subject": "platform@example.com", "cluster_role": "cluster-admin"},
            {"name": "shop-devs@example.com", "subject": "shop-devs@example.com",
             "namespace_roles": {"shop": "viewer", "shop-staging": "developer"}},
        ],
    ),
)
# Same namespaces in another instance would clash in the cluster, not in the program: its names
# derive from "team-b".
other = SecurityBaseline("team-b", SecurityBaselineArgs(kubernetes_provider=provider, namespaces=["billing"]))

pulumi.export("namespaces", team.namespace_names)
pulumi.export("bindings", team.binding_names)
pulumi.export("otherNamespaces", other.namespace_names)
