"""Kubeconfigs built from a cluster's own outputs, authenticating with the cloud's exec plugin.

No static credentials: the token comes at use time from ``aws eks get-token``, ``kubelogin`` or
``gke-gcloud-auth-plugin``, which must be on PATH where ``pulumi up`` runs.
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml

EXEC_API = "client.authentication.k8s.io/v1beta1"
AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the AKS AAD server application id
# libyaml's emitter when PyYAML has it: the same text as the pure-Python SafeDumper, ~10x faster
# (a fleet renders one kubeconfig per cluster pair for remote secrets).
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def eks_exec(cluster: str, region: str) -> dict[str, Any]:
    return {
        "apiVersion": EXEC_API,
        "command": "aws",
        "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster, "--output", "json"],
        "interactiveMode": "Never",
    }


def aks_exec() -> dict[str, Any]:
    return {
        "apiVersion": EXEC_API,
        "command": "kubelogin",
        "args": ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_ID],
        "interactiveMode": "Never",
    }


def gke_exec() -> dict[str, Any]:
    return {
        "apiVersion": EXEC_API,
        "command": "gke-gcloud-auth-plugin",
        "provideClusterInfo": True,
        "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
        "interactiveMode": "Never",
    }


def render(name: str, server: str, ca_data: str, exec_config: dict[str, Any]) -> str:
    """A one-context kubeconfig as YAML text, authenticating with an exec plugin."""
    return _kubeconfig(name, server, ca_data, {"exec": exec_config})


def _kubeconfig(name: str, server: str, ca_data: str, user: dict[str, Any]) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return yaml.dump(doc, Dumper=DUMPER, sort_keys=False)


def build(name: str, server: pulumi.Input[str], ca_data: pulumi.Input[str], exec_config: dict[str, Any]) -> pulumi.Output[str]:
    """The kubeconfig as a secret Output."""
    text = pulumi.Output.all(server, ca_data).apply(lambda a: render(name, a[0], a[1], exec_config))
    return pulumi.Output.secret(text)


def render_token(name: str, server: str, ca_data: str, token: str) -> str:
    """A kubeconfig that authenticates with a service-account bearer token (remote secrets)."""
    return _kubeconfig(name, server, ca_data, {"token": token})
