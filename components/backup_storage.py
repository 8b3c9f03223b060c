"""The storage interface behind Velero: what a cluster's backups sit in, and how a DR peer reads them.

One implementation per cloud, each beside its cloud's cluster component
(``components/clusters/{eks,aks,gke}_plumbing.py``): the bucket (S3 + KMS key, a storage account
container, a GCS bucket), the writer identity of Velero's service account, and the keyless grant
that lets another cluster's Velero read it. The Velero add-on (``components/addons/velero.py``)
takes only what :class:`BackupStore` hands over (plugin, bucket, location config, service-account
annotations...), so it never branches on the cloud.

Cross-cloud DR reads use no keys: the peer's cloud trusts the *reader* cluster's OIDC issuer for
the reader's ``velero/velero`` service account (an IAM OIDC provider + role on AWS, a federated
credential on a user-assigned identity on Azure, a workload identity pool provider on GCP). The
reader's Velero pods present a projected service-account token with the audience
:data:`DR_AUDIENCE`; the DR location's credential file only points at that token file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pulumi

from components.addons import aws_federation

if TYPE_CHECKING:
    from components.handle import ClusterHandle
    from stacks.sections.backup import BackupConfig

NAMESPACE = "velero"
SERVICE_ACCOUNT = "velero"
SUBJECT = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
# Audience of the projected token a reader presents to a DR peer's cloud. It is the same for all
# three clouds: the IAM OIDC provider client id, the Azure federated credential audience and the
# GCP pool provider's allowed audience.
DR_AUDIENCE = aws_federation.VELERO_DR_AUDIENCE
DR_TOKEN_DIR = "/var/run/secrets/velero-dr"
DR_TOKEN_FILE = f"{DR_TOKEN_DIR}/token"


@dataclass
class BackupStore:
    """One cluster's backup storage and writer identity, as the Velero add-on takes them."""

    plugin: str  # velero.io/aws | velero.io/azure | velero.io/gcp
    bucket: pulumi.Output[str]
    # The location config a read-only peer location also uses, and the writer's own (which may add
    # the KMS key or the service account).
    location_config: dict[str, pulumi.Input[str]]
    own_location_config: dict[str, pulumi.Input[str]]
    snapshot_location_config: dict[str, pulumi.Input[str]]
    # The plugin's credential file for the chart's Secret, where the plugin reads one (Azure); None
    # where workload identity alone suffices.
    credentials_file: pulumi.Input[str] | None
    service_account_annotations: dict[str, pulumi.Input[str]]
    pod_labels: dict[str, str]
    # Grants Velero's pods must wait for (the writer identity and what it may do).
    grants: list[pulumi.Resource]
    # GitOps Bridge annotations naming this storage for add-ons on the hub.
    annotations: dict[str, pulumi.Input[str]]
    details: dict[str, Any] = field(default_factory=dict)  # implementation-private (key ARN, account id...)


@dataclass
class ReaderGrant:
    """What a DR reader gets from a peer's cloud: the location's credential file and, where the
    peer's plugin reads its identity from the process environment, that environment."""

    credential_file: pulumi.Output[str]
    env: dict[str, pulumi.Input[str]]


@dataclass(frozen=True)
class ReaderEnv:
    """Process environment a reader's server and node-agent need for a peer's plugin: fixed values,
    and keys read from the DR link's Secret (optional there: the link may land after the pods)."""

    values: dict[str, str] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()


class BackupStorage(Protocol):
    """A cloud's backup storage for Velero. ``opts`` carries the parent (the cluster component),
    the cloud provider and any aliases; implementations add ``protect`` to stateful resources."""

    @property
    def plugin(self) -> str:
        """The Velero plugin for this storage (velero.io/aws...)."""
        ...

    @property
    def reader_env(self) -> ReaderEnv:
        """What a reader of this storage needs in its Velero pods' environment."""
        ...

    def create(self, h: ClusterHandle, cfg: BackupConfig, *, protect: bool, key_rotation_days: int,
               opts: pulumi.ResourceOptions) -> BackupStore: ...

    def grant_reader(self, peer: ClusterHandle, store: BackupStore, reader: ClusterHandle, *,
                     opts: pulumi.ResourceOptions) -> ReaderGrant:
        """Let ``reader``'s velero service account read ``store`` (``peer``'s), keylessly."""
        ...


def protected(opts: pulumi.ResourceOptions, protect: bool) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect))


def after(opts: pulumi.ResourceOptions, *deps: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(deps)))
