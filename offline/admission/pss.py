"""Pod Security Standards (v1.35, the version stacks/versions.py pins in the labels) as one table of rules.

Each rule reads a pod (metadata + spec) and returns what it finds wrong; ``baseline`` rules apply
at ``baseline`` and ``restricted``, ``restricted`` rules only at ``restricted``; ``privileged``
admits everything. Pod templates of workload kinds are checked like the pods they create
(enforcement happens on those pods, so a rejected template means a workload that never starts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
# No AdmissionConfiguration on EKS/AKS/GKE changes the built-in default: unlabelled = privileged.
DEFAULT_LEVEL = "privileged"

# kind -> path to its pod template (metadata + spec).
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# Capabilities the container runtimes grant by default: baseline allows adding only these.
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
# Namespaced, node-isolated sysctls (the "safe" set; tcp_rmem/tcp_wmem joined in v1.32).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


def _contexts(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The pod's security context and each container's, labelled for messages."""
    yield "pod", _sc(spec)
    for c in _containers(spec):
        yield f"container {c.get('name')}", _sc(c)


def _windows(spec: dict[str, Any]) -> bool:
    # Linux-only controls are skipped for pods that declare the Windows OS (as PSA does).
    return ((spec.get("os") or {}).get("name")) == "windows"


Check = Callable[[dict[str, Any], dict[str, Any]], list[str]]


def host_process(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"{who} sets windowsOptions.hostProcess" for who, sc in _contexts(spec)
            if (sc.get("windowsOptions") or {}).get("hostProcess")]


def host_namespaces(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"{f}=true" for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f)]


def privileged(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"container {c.get('name')} is privileged" for c in _containers(spec) if _sc(c).get("privileged")]


def capabilities_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    out = []
    for c in _containers(spec):
        extra = sorted(set((_sc(c).get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES)
        if extra:
            out.append(f"container {c.get('name')} adds {', '.join(extra)}")
    return out


def host_path(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"volume {v.get('name')} is a hostPath" for v in spec.get("volumes") or [] if v.get("hostPath") is not None]


def host_ports(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"container {c.get('name')} uses hostPort {p['hostPort']}" for c in _containers(spec)
            for p in c.get("ports") or [] if p.get("hostPort")]


def apparmor(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    out = [f"{who} appArmorProfile {t}" for who, sc in _contexts(spec)
           if (t := (sc.get("appArmorProfile") or {}).get("type")) not in (None, "RuntimeDefault", "Localhost")]
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(APPARMOR_PREFIX) and value and value != "runtime/default" and not value.startswith("localhost/"):
            out.append(f"annotation {key}={value}")
    return out


def selinux(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    out = []
    for who, sc in _contexts(spec):
        opts = sc.get("seLinuxOptions") or {}
        if opts.get("type", "") not in SELINUX_TYPES:
            out.append(f"{who} seLinuxOptions.type {opts['type']}")
        out += [f"{who} sets seLinuxOptions.{f}" for f in ("user", "role") if opts.get(f)]
    return out


def proc_mount(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"container {c.get('name')} procMount {m}" for c in _containers(spec)
            if (m := _sc(c).get("procMount")) not in (None, "Default")]


# Probe and lifecycle-hook hosts other than the pod itself reach other endpoints from the kubelet:
# baseline forbids them from v1.34 (kubernetes/pod-security-admission
# policy/check_hostProbesAndhostLifecycle.go, MinimumVersion 1.34; empty or a loopback address only).
LOOPBACK_HOSTS = ("", "127.0.0.1", "::1")
HOST_HANDLERS = ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle.postStart", "lifecycle.preStop")


def host_probes(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    out = []
    for c in _containers(spec):
        for path in HOST_HANDLERS:
            handler: Any = c
            for key in path.split("."):
                handler = (handler or {}).get(key)
            for kind in ("httpGet", "tcpSocket"):
                host = ((handler or {}).get(kind) or {}).get("host") or ""
                if host not in LOOPBACK_HOSTS:
                    out.append(f"container {c.get('name')} {path}.{kind}.host {host}")
    return out


def seccomp_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"{who} seccompProfile Unconfined" for who, sc in _contexts(spec)
            if (sc.get("seccompProfile") or {}).get("type") == "Unconfined"]


def sysctls(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"sysctl {s.get('name')}" for s in _sc(spec).get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]


def volume_types(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    out = []
    for v in spec.get("volumes") or []:
        kinds = sorted(k for k in v if k != "name" and v[k] is not None)
        if not kinds or any(k not in RESTRICTED_VOLUMES for k in kinds):
            out.append(f"volume {v.get('name')} is {'/'.join(kinds) or 'of no type'}")
    return out


def privilege_escalation(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    if _windows(spec):
        return []
    return [f"container {c.get('name')} does not set allowPrivilegeEscalation=false" for c in _containers(spec)
            if _sc(c).get("allowPrivilegeEscalation") is not False]


def run_as_non_root(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    pod = _sc(spec).get("runAsNonRoot")
    out = ["pod sets runAsNonRoot=false"] if pod is False else []
    for c in _containers(spec):
        mine = _sc(c).get("runAsNonRoot")
        if mine is False or (mine is None and pod is not True):
            out.append(f"container {c.get('name')} may run as root (runAsNonRoot not true)")
    return out


def run_as_user(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    return [f"{who} runAsUser=0" for who, sc in _contexts(spec) if sc.get("runAsUser") == 0]


def seccomp_restricted(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    if _windows(spec):
        return []
    pod = (_sc(spec).get("seccompProfile") or {}).get("type")
    out = [f"pod seccompProfile {pod}"] if pod is not None and pod not in SECCOMP_OK else []
    for c in _containers(spec):
        mine = (_sc(c).get("seccompProfile") or {}).get("type")
        if mine is not None and mine not in SECCOMP_OK:
            out.append(f"container {c.get('name')} seccompProfile {mine}")
        elif mine is None and pod not in SECCOMP_OK:
            out.append(f"container {c.get('name')} has no RuntimeDefault/Localhost seccomp profile")
    return out


def capabilities_restricted(meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    if _windows(spec):
        return []
    out = []
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"container {c.get('name')} does not drop ALL capabilities")
        extra = sorted(set(caps.get("add") or []) - {"NET_BIND_SERVICE"})
        if extra:
            out.append(f"container {c.get('name')} adds {', '.join(extra)}")
    return out


@dataclass(frozen=True)
class Rule:
    id: str
    level: str  # the lowest level that enforces it
    control: str  # the PSS control's name
    check: Check


RULES: tuple[Rule, ...] = (
    Rule("host-process", "baseline", "HostProcess", host_process),
    Rule("host-namespaces", "baseline", "Host Namespaces", host_namespaces),
    Rule("privileged", "baseline", "Privileged Containers", privileged),
    Rule("capabilities-baseline", "baseline", "Capabilities", capabilities_baseline),
    Rule("host-path-volumes", "baseline", "HostPath Volumes", host_path),
    Rule("host-ports", "baseline", "Host Ports", host_ports),
    Rule("apparmor", "baseline", "AppArmor", apparmor),
    Rule("selinux", "baseline", "SELinux", selinux),
    Rule("proc-mount", "baseline", "/proc Mount Type", proc_mount),
    Rule("seccomp-baseline", "baseline", "Seccomp", seccomp_baseline),
    Rule("host-probes", "baseline", "Probes / Lifecycle Hooks", host_probes),
    Rule("sysctls", "baseline", "Sysctls", sysctls),
    Rule("volume-types", "restricted", "Volume Types", volume_types),
    Rule("privilege-escalation", "restricted", "Privilege Escalation", privilege_escalation),
    Rule("run-as-non-root", "restricted", "Running as Non-root", run_as_non_root),
    Rule("run-as-user", "restricted", "Running as Non-root user", run_as_user),
    Rule("seccomp-restricted", "restricted", "Seccomp", seccomp_restricted),
    Rule("capabilities-restricted", "restricted", "Capabilities", capabilities_restricted),
)


def rules_for(level: str) -> tuple[Rule, ...]:
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}")
    allowed = LEVELS[1: LEVELS.index(level) + 1]
    return tuple(r for r in RULES if r.level in allowed)


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod (metadata + spec) an object creates, or ``None`` for kinds that make no pods."""
    path = POD_TEMPLATE_PATHS.get(str(obj.get("kind")))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def evaluate(pod: dict[str, Any], level: str) -> list[tuple[Rule, str]]:
    """(rule, finding) for every rule of ``level`` the pod breaks."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    return [(rule, finding) for rule in rules_for(level) for finding in rule.check(meta, spec)]
