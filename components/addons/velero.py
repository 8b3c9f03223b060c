"""Velero on one cluster (the in-cluster part), and a read-only location on a DR peer's backups.

Both take a Kubernetes provider and plain values or Inputs: the storage plugin, the bucket and its
location config, the service account's annotations and pod labels, the chart's credential file.
Everything cloud-specific (the bucket, its key, the writer identity, a DR reader's grant) sits
behind the storage interface (components/backup_storage.py), one implementation per cloud beside
its cluster component; :func:`fleet_backups` composes the two for the fleet.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release_on
from components.backup_storage import DR_AUDIENCE, DR_TOKEN_DIR, NAMESPACE, SERVICE_ACCOUNT, BackupStorage, BackupStore
from components.clusters import former_child_urns
from components.handle import ClusterHandle
from components.options import moved_from, waits_for
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from stacks.sections.backup import BackupConfig, cron_problem, ttl_problem
from stacks.versions import CRD_API_VERSIONS, VELERO_PLUGINS

# Privileged: the node-agent DaemonSet (file-system backup) mounts the kubelet's pod volumes from
# the host (/var/lib/kubelet/pods). Baseline forbids hostPath volumes.
POD_SECURITY_REASON = "node-agent mounts /var/lib/kubelet/pods (hostPath) for file-system backup"
DR_ENV_ANNOTATION = "archipelago.io/velero-dr-env"
# The type tokens these components were deployed with (before the one scheme).
LEGACY_TYPES = {"Velero": "archipelago:addons:Velero", "VeleroDrLink": "archipelago:fleet:VeleroDrLink"}
DEFAULTS = BackupConfig()
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dr_secret_name(peer: str) -> str:
    return f"velero-dr-{peer}"


def plugin_init_container(plugin: str) -> dict[str, Any]:
    image = VELERO_PLUGINS[plugin]
    return {"name": image.split("/")[-1].split(":")[0], "image": image, "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}]}


def dr_token_volume() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volume = {"name": "velero-dr-token", "projected": {"sources": [{"serviceAccountToken": {
        "path": "token", "audience": DR_AUDIENCE, "expirationSeconds": 3600}}]}}
    mount = {"name": "velero-dr-token", "mountPath": DR_TOKEN_DIR, "readOnly": True}
    return [volume], [mount]


def schedule_name(cluster: str) -> str:
    """Per cluster: a Schedule's backups are named ``<schedule>-<timestamp>``, and backup sync
    only imports names not already present, so a peer's ``daily-…`` would hide behind the
    reader's own (velero pkg/controller/backup_sync_controller.go @v1.18.1)."""
    return f"{cluster}-daily"


def _check_plugin(field: str, plugin: str) -> None:
    if plugin not in VELERO_PLUGINS:
        raise ValueError(f"{field}: {plugin!r} is not one of {', '.join(VELERO_PLUGINS)}")


def _cr(provider: pulumi.ProviderResource, prefix: str, kind: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions,
        labels: dict[str, str] | None = None) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        naming.logical(prefix, "velero", kind.lower(), name), api_version=CRD_API_VERSIONS[kind], kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, labels=labels), spec=spec,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=provider)))


class VeleroDrPeerArgs(TypedDict):
    """A DR peer whose backups this cluster can restore: its plugin, the projected token and the
    environment the plugin reads are installed with Velero, so the later VeleroDrLink only adds a
    Secret and a location."""

    name: str
    """The peer's name: the DR Secret is velero-dr-<name>."""
    plugin: str
    """The peer storage's Velero plugin: velero.io/aws, velero.io/azure or velero.io/gcp."""
    env: NotRequired[dict[str, str]]
    """Fixed process environment the peer's plugin needs (e.g. AZURE_FEDERATED_TOKEN_FILE). Default: none."""
    secret_env: NotRequired[list[str]]
    """Environment variables read from the DR Secret's keys of the same name (optional there: the link
    may land after the pods start). Default: none."""


class VeleroArgs(TypedDict):
    """Inputs of Velero: the cluster's Kubernetes provider, the backup storage and the daily Schedule."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every object is created through it."""
    plugin: str
    """The storage's Velero plugin: velero.io/aws, velero.io/azure or velero.io/gcp (pinned image)."""
    bucket: pulumi.Input[str]
    """The bucket (S3, GCS) or blob container (Azure) backups are written to."""
    prefix: NotRequired[pulumi.Input[str]]
    """Path prefix inside the bucket. Default: namePrefix (or the component's name)."""
    location_config: NotRequired[dict[str, pulumi.Input[str]]]
    """The plugin's BackupStorageLocation config (region and kmsKeyId on AWS; resourceGroup,
    storageAccount, subscriptionId, useAAD on Azure; serviceAccount on GCP). Default: none."""
    snapshot_location_config: NotRequired[dict[str, pulumi.Input[str]]]
    """The plugin's VolumeSnapshotLocation config, used when snapshots are on. Default: none."""
    credentials_file: NotRequired[pulumi.Input[str]]
    """The plugin's credential file, for the chart's Secret (Azure: subscription, node resource group
    and cloud; no secret material with workload identity). Default: none (no Secret)."""
    service_account_annotations: NotRequired[dict[str, pulumi.Input[str]]]
    """Annotations of the velero service account (workload identity). Default: none."""
    pod_labels: NotRequired[dict[str, str]]
    """Labels of the server and node-agent pods (workload identity). Default: none."""
    schedule: NotRequired[str]
    """Cron expression (UTC, 5 fields) of the daily backup. Default: 0 2 * * *."""
    ttl: NotRequired[str]
    """How long each backup is kept (Go duration in h/m/s). Default: 720h0m0s."""
    included_namespaces: NotRequired[list[str]]
    """Namespaces the Schedule backs up. Default: production and staging."""
    excluded_resources: NotRequired[list[str]]
    """Resources left out of every backup. Default: events and events.events.k8s.io."""
    file_system_backup: NotRequired[bool]
    """Back up every pod volume file by file (kopia, node-agent): the only way volume data crosses
    clouds or regions. Off, Velero takes the cloud's disk snapshots instead. Default: true."""
    dr_peer: NotRequired[VeleroDrPeerArgs]
    """A peer whose backups this cluster can restore. Default: none."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name, the Schedule's name (<prefix>-daily) and the default
    bucket prefix. Default: the component's own name."""


def _check_args(args: VeleroArgs) -> None:
    _check_plugin("plugin", args["plugin"])
    peer = args.get("dr_peer")
    if peer is not None:
        _check_plugin("drPeer.plugin", peer["plugin"])
        if not NAME.match(peer["name"]):
            raise ValueError(f"drPeer.name: {peer['name']!r} is not a DNS-1123 label")
    schedule = args.get("schedule")
    if schedule is not None and cron_problem(schedule):
        raise ValueError(f"schedule: {schedule!r} {cron_problem(schedule)}")
    ttl = args.get("ttl")
    if ttl is not None and ttl_problem(ttl):
        raise ValueError(f"ttl: {ttl!r} {ttl_problem(ttl)}")
    for i, ns in enumerate(args.get("included_namespaces") or []):
        if ns != "*" and not NAME.match(ns):
            raise ValueError(f"includedNamespaces[{i}]: {ns!r} is not a namespace name")


class Velero(pulumi.ComponentResource):
    """Velero on one cluster: the pinned chart with the storage's plugin and node-agent
    (file-system backup), its namespace at Pod Security privileged, the default
    BackupStorageLocation, a VolumeSnapshotLocation when snapshots are on, and the daily Schedule.
    The release waits for whatever the resource options' dependsOn names (the writer identity)."""

    bucket: pulumi.Output[str]
    """The bucket (or container) backups are written to."""
    schedule_name: pulumi.Output[str]
    """Name of the daily Schedule (<namePrefix>-daily)."""

    def __init__(self, name: str, args: VeleroArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(Velero), name, None, renamed_from(LEGACY_TYPES["Velero"], opts))
        _check_args(args)
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        plugin = args["plugin"]
        file_system = args.get("file_system_backup", True)
        snapshots = not file_system
        ttl = args.get("ttl") or DEFAULTS.ttl
        self.namespace = pss_namespace_on(provider, NAMESPACE, "privileged", parent=self, reason=POD_SECURITY_REASON,
                                          logical_name=f"{prefix}-ns-{NAMESPACE}")

        peer = args.get("dr_peer")
        plugins = [plugin]
        if peer is not None and peer["plugin"] not in plugins:
            plugins.append(peer["plugin"])
        volumes, mounts = dr_token_volume() if peer is not None else ([], [])
        dr_env: list[dict[str, Any]] = []
        if peer is not None:
            dr_env = [{"name": k, "value": v} for k, v in (peer.get("env") or {}).items()] + [
                {"name": key, "valueFrom": {"secretKeyRef": {"name": dr_secret_name(peer["name"]), "key": key, "optional": True}}}
                for key in peer.get("secret_env") or []]
        configuration: dict[str, Any] = {
            "uploaderType": "kopia",
            "defaultBackupStorageLocation": "default",
            "defaultBackupTTL": ttl,
            "defaultVolumesToFsBackup": file_system,
        }
        if snapshots:
            configuration["defaultVolumeSnapshotLocations"] = f"{plugin}:default"
        if dr_env:
            # Rendered into both the server Deployment and the node-agent DaemonSet (chart 12.1.0).
            configuration["extraEnvVars"] = dr_env
        credentials_file = args.get("credentials_file")
        values = {
            "initContainers": [plugin_init_container(p) for p in plugins],
            "serviceAccount": {"server": {"create": True, "name": SERVICE_ACCOUNT,
                                          "annotations": dict(args.get("service_account_annotations") or {})}},
            "podLabels": dict(args.get("pod_labels") or {}),
            # Projected token files (Pod Identity, the DR token) get this group, so a non-root server can read them.
            "podSecurityContext": {"fsGroup": 65534},
            "credentials": ({"useSecret": True, "secretContents": {"cloud": credentials_file}} if credentials_file is not None
                            else {"useSecret": False}),
            # The locations and the schedule are first-class custom resources below, not chart templates.
            "backupsEnabled": False,
            "snapshotsEnabled": False,
            "deployNodeAgent": True,
            "nodeAgent": {"podLabels": dict(args.get("pod_labels") or {}), "extraVolumes": volumes, "extraVolumeMounts": mounts},
            "extraVolumes": volumes,
            "extraVolumeMounts": mounts,
            "configuration": configuration,
        }
        self.release = release_on(provider, "velero", logical_name=f"{prefix}-velero", release_name="velero", namespace=NAMESPACE,
                                  values=values, parent=self, depends_on=[self.namespace, *waits_for(opts)])
        cr_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.bsl = _cr(provider, prefix, "BackupStorageLocation", "default", {
            "provider": plugin, "default": True, "accessMode": "ReadWrite",
            "objectStorage": {"bucket": args["bucket"], "prefix": args.get("prefix") or prefix},
            "config": dict(args.get("location_config") or {}),
        }, cr_opts)
        locations: list[pulumi.Resource] = [self.bsl]
        self.vsl: k8s.apiextensions.CustomResource | None = None
        if snapshots:
            self.vsl = _cr(provider, prefix, "VolumeSnapshotLocation", "default",
                           {"provider": plugin, "config": dict(args.get("snapshot_location_config") or {})}, cr_opts)
            locations.append(self.vsl)
        excluded = args.get("excluded_resources")
        template: dict[str, Any] = {
            "includedNamespaces": list(args.get("included_namespaces") or DEFAULTS.included_namespaces),
            "excludedResources": list(DEFAULTS.excluded_resources if excluded is None else excluded),
            "storageLocation": "default",
            "ttl": ttl,
            "defaultVolumesToFsBackup": file_system,
            # With file-system backup of every volume, snapshots would only duplicate the data.
            "snapshotVolumes": snapshots,
        }
        if snapshots:
            template["volumeSnapshotLocations"] = ["default"]
        # Deleting the Schedule must never delete its backups.
        spec = {"schedule": args.get("schedule") or DEFAULTS.schedule, "useOwnerReferencesInBackup": False, "template": template}
        self.schedule = _cr(provider, prefix, "Schedule", schedule_name(prefix), spec,
                            pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=locations)))
        self.bucket = pulumi.Output.from_input(args["bucket"])
        self.schedule_name = pulumi.Output.from_input(schedule_name(prefix))
        self.register_outputs({"bucket": self.bucket, "scheduleName": self.schedule_name})


class VeleroDrLinkArgs(TypedDict):
    """Inputs of VeleroDrLink: the reader's Kubernetes provider and the peer's storage, as the
    peer's cloud lets the reader in (a credential file pointing at the projected token)."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the reader cluster (which runs Velero with this peer as drPeer)."""
    peer: str
    """The peer's name: the location is dr-<peer>, its Secret velero-dr-<peer>."""
    plugin: str
    """The peer storage's Velero plugin: velero.io/aws, velero.io/azure or velero.io/gcp."""
    bucket: pulumi.Input[str]
    """The peer's bucket (or container)."""
    prefix: NotRequired[pulumi.Input[str]]
    """The peer's path prefix inside the bucket. Default: peer."""
    location_config: NotRequired[dict[str, pulumi.Input[str]]]
    """The plugin's location config for the peer's storage. Default: none."""
    credential_file: pulumi.Input[str]
    """The plugin's credential file for the peer's cloud (web identity with the projected token;
    no key). Stored in the DR Secret under 'cloud'."""
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    """Values the peer's plugin reads from the process environment (Azure: AZURE_CLIENT_ID,
    AZURE_TENANT_ID), stored in the DR Secret; the Velero server and node-agent are rolled when they
    change. Default: none."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


class VeleroDrLink(pulumi.ComponentResource):
    """A read-only BackupStorageLocation on the reader over a peer's backups, with the Secret
    holding the peer's credential file. Children wait for the resource options' dependsOn (the
    reader's Velero)."""

    location: pulumi.Output[str]
    """Name of the read-only BackupStorageLocation (dr-<peer>)."""

    def __init__(self, name: str, args: VeleroDrLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(VeleroDrLink), name, None, renamed_from(LEGACY_TYPES["VeleroDrLink"], opts))
        _check_plugin("plugin", args["plugin"])
        peer = args["peer"]
        if not NAME.match(peer):
            raise ValueError(f"peer: {peer!r} is not a DNS-1123 label")
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        waits = waits_for(opts)
        env = dict(args.get("environment") or {})
        secret_name = dr_secret_name(peer)
        self.secret = k8s.core.v1.Secret(
            naming.logical(prefix, "velero", "dr", peer),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=NAMESPACE),
            string_data={"cloud": args["credential_file"], **env},
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=waits),
        )
        after_secret = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*waits, self.secret])
        if env:
            # The pods read this environment at start: roll them when it changes (or first lands).
            stamp = pulumi.Output.all(*env.values()).apply(lambda v: hashlib.sha256("\n".join(map(str, v)).encode()).hexdigest()[:16])
            template = k8s.core.v1.PodTemplateSpecPatchArgs(metadata=k8s.meta.v1.ObjectMetaPatchArgs(annotations={DR_ENV_ANNOTATION: stamp}))
            k8s.apps.v1.DeploymentPatch(
                naming.logical(prefix, "velero", "dr-env", "server"),
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="velero", namespace=NAMESPACE, annotations={"pulumi.com/patchForce": "true"}),
                spec=k8s.apps.v1.DeploymentSpecPatchArgs(template=template), opts=after_secret)
            k8s.apps.v1.DaemonSetPatch(
                naming.logical(prefix, "velero", "dr-env", "node-agent"),
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="node-agent", namespace=NAMESPACE,
                                                         annotations={"pulumi.com/patchForce": "true"}),
                spec=k8s.apps.v1.DaemonSetSpecPatchArgs(template=template), opts=after_secret)
        self.bsl = _cr(provider, prefix, "BackupStorageLocation", f"dr-{peer}", {
            "provider": args["plugin"],
            # ReadOnly: a restore from the peer can never delete or overwrite the peer's backups.
            "accessMode": "ReadOnly",
            "objectStorage": {"bucket": args["bucket"], "prefix": args.get("prefix") or peer},
            "config": dict(args.get("location_config") or {}),
            "credential": {"name": secret_name, "key": "cloud"},
        }, after_secret, labels={"archipelago.io/dr-peer": peer})
        self.location = pulumi.Output.from_input(f"dr-{peer}")
        self.register_outputs({"location": self.location})


# -- the fleet's composition ---------------------------------------------------------------------


@dataclass
class ClusterBackup:
    """One fleet cluster's Velero and the storage behind it (Python only)."""

    velero: Velero
    store: BackupStore
    prefix: str

    @property
    def hub_annotations(self) -> dict[str, pulumi.Input[str]]:
        """GitOps Bridge annotations naming this cluster's backups for add-ons on the hub."""
        return {**self.store.annotations, "velero_backup_prefix": self.prefix}


def _storage(h: ClusterHandle) -> BackupStorage:
    if h.plumbing is None:
        raise RuntimeError(f"cluster {h.name} has no cloud plumbing")
    return h.plumbing.backup_storage


def velero_args(h: ClusterHandle, store: BackupStore, cfg: BackupConfig, peer: ClusterHandle | None) -> VeleroArgs:
    """The fleet's backup section and a cluster's storage as Velero's args."""
    args = VeleroArgs(
        kubernetes_provider=h.provider, plugin=store.plugin, bucket=store.bucket, prefix=h.name,
        location_config=store.own_location_config, snapshot_location_config=store.snapshot_location_config,
        service_account_annotations=store.service_account_annotations, pod_labels=store.pod_labels,
        schedule=cfg.schedule, ttl=cfg.ttl, included_namespaces=list(cfg.included_namespaces),
        excluded_resources=list(cfg.excluded_resources), file_system_backup=cfg.file_system_backup, name_prefix=h.name)
    if store.credentials_file is not None:
        args["credentials_file"] = store.credentials_file
    if peer is not None:
        env = _storage(peer).reader_env
        args["dr_peer"] = VeleroDrPeerArgs(name=peer.name, plugin=_storage(peer).plugin, env=dict(env.values),
                                           secret_env=list(env.secret_keys))
    return args


def fleet_backups(handles: list[ClusterHandle], cfg: BackupConfig, *, protect: bool,
                  key_rotation_days: int) -> tuple[dict[str, ClusterBackup], dict[str, VeleroDrLink]]:
    """The fleet's composition: per cluster its cloud's storage (children of the cluster's
    component, aliased from the Velero component they used to belong to) and Velero; per DR pair
    the peer's grant (under the peer's cluster, aliased from the link) and the link."""
    by_name = {h.name: h for h in handles}
    peers = cfg.dr_peers
    backups: dict[str, ClusterBackup] = {}
    for h in handles:
        name = naming.logical(h.name, "velero")
        old = former_child_urns(h, name, LEGACY_TYPES["Velero"])
        store = _storage(h).create(h, cfg, protect=protect, key_rotation_days=key_rotation_days,
                                   opts=pulumi.ResourceOptions.merge(h.cloud_opts(h.component), moved_from(*old)))
        peer = by_name[peers[h.name]] if h.name in peers else None
        velero = Velero(name, velero_args(h, store, cfg, peer), pulumi.ResourceOptions(parent=h.component, depends_on=store.grants))
        backups[h.name] = ClusterBackup(velero, store, h.name)
    links: dict[str, VeleroDrLink] = {}
    for reader_name, peer_name in sorted(peers.items()):
        reader, peer = by_name[reader_name], by_name[peer_name]
        name = naming.logical(reader_name, "velero-dr", peer_name)
        old = [pulumi.create_urn(name, LEGACY_TYPES["VeleroDrLink"])]
        store = backups[peer_name].store
        grant = _storage(peer).grant_reader(peer, store, reader,
                                            opts=pulumi.ResourceOptions.merge(peer.cloud_opts(peer.component), moved_from(*old)))
        links[reader_name] = VeleroDrLink(name, VeleroDrLinkArgs(
            kubernetes_provider=reader.provider, peer=peer_name, plugin=store.plugin, bucket=store.bucket, prefix=peer_name,
            location_config=store.location_config, credential_file=grant.credential_file, environment=grant.env,
            name_prefix=reader_name), pulumi.ResourceOptions(depends_on=[backups[reader_name].velero]))
    return backups, links
