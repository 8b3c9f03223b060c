"""What every managed-cluster component shares: its args, option presets, and the finish that
turns a cluster's own outputs into a kubeconfig, a Kubernetes provider and a ClusterHandle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.clusters import kubeconfig
from components.handle import ClusterHandle, IdentityBinder
from stacks.spec import ClusterSpec, FleetSpec


@dataclass
class ClusterArgs:
    cluster: ClusterSpec
    fleet: FleetSpec
    provider: pulumi.ProviderResource


class ManagedCluster(pulumi.ComponentResource):
    """Base of EksCluster, AksCluster and GkeCluster."""

    handle: ClusterHandle
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider
    oidc_issuer: pulumi.Output[str]

    def __init__(self, type_: str, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None):
        super().__init__(type_, name, None, opts)
        self._name = name
        self._cloud_provider = args.provider
        # Cloud children: this component as parent, the region's explicit provider.
        self.child_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        # Keys, vaults and the like: protected where the baseline says so (prod).
        self.stateful_opts = pulumi.ResourceOptions.merge(
            self.child_opts, pulumi.ResourceOptions(protect=args.fleet.baseline.protect_stateful)
        )

    def name_suffix(self) -> pulumi.Output[str]:
        """Four lowercase letters/digits, stable in state and new after a destroy: for names a
        cloud keeps reserved after deletion (Key Vault soft delete, GCP key rings)."""
        provider = random.Provider(f"{self._name}-random", opts=pulumi.ResourceOptions(parent=self))
        return random.RandomString(
            f"{self._name}-name-suffix", length=4, special=False, upper=False,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        ).result

    def _finish(
        self,
        spec: ClusterSpec,
        *,
        endpoint: pulumi.Input[str],
        ca_data: pulumi.Input[str],
        exec_config: dict[str, Any],
        oidc_issuer: pulumi.Output[str],
        account: pulumi.Output[str],
        cloud_outputs: dict[str, Any],
        lb_annotations: dict[str, dict[str, str]],
        identity: IdentityBinder,
        provider_depends_on: list[pulumi.Resource] | None = None,
    ) -> None:
        """Kubeconfig (secret, exec plugin), the cluster's own provider (server-side apply), the handle."""
        self.kubeconfig = kubeconfig.build(spec.name, endpoint, ca_data, exec_config)
        self.k8s_provider = k8s.Provider(
            f"{self._name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=provider_depends_on or []),
        )
        self.oidc_issuer = oidc_issuer
        self.handle = ClusterHandle(
            spec=spec,
            provider=self.k8s_provider,
            cloud_provider=self._cloud_provider,
            component=self,
            kubeconfig=self.kubeconfig,
            endpoint=pulumi.Output.from_input(endpoint),
            ca_data=pulumi.Output.from_input(ca_data),
            oidc_issuer=oidc_issuer,
            account=account,
            cloud_outputs=cloud_outputs,
            lb_annotations=lb_annotations,
            _identity=identity,
        )
        self.register_outputs({"endpoint": endpoint, "kubeconfig": self.kubeconfig, "oidcIssuer": oidc_issuer})
