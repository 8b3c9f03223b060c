"""Hostile stack files: each malformed or abusive file exits 2 with the file, the line and a plain
reason, never a traceback, in bounded time and memory (stacks/stackfile.py).

The corpus is ``tests/hostile/*.yaml`` plus the files :data:`GENERATED` writes (too large to keep
in the repository). YAML behaviour referenced: PyYAML 6.0 keeps the last of duplicate keys and
expands aliases on use (pyyaml/pyyaml@6.0.1 lib/yaml/constructor.py ``construct_mapping``,
lib/yaml/composer.py ``compose_node``); YAML 1.1 resolves an unquoted ``1.30`` to the float 1.3
(yaml.org/type/float.html), which is why version strings must be quoted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from offline import cli
from stacks import stackfile
from stacks.config import ConfigError
from stacks.validate import build_spec

from .conftest import ROOT

CORPUS = Path(__file__).parent / "hostile"

HEADER = "config:\n  archipelago:environment: prod\n  archipelago:addressSpace: 10.0.0.0/8\n"

GENERATED = {
    "deep-nesting.yaml": "config:\n  archipelago:backup: " + "[" * 20_000 + "]" * 20_000 + "\n",
    "ten-megabytes.yaml": "config:\n  archipelago:gcpProject: " + "x" * 10_000_000 + "\n",
    "long-value.yaml": HEADER + "  archipelago:gcpProject: " + "x" * 200_000 + "\n",
}

# file -> (exit code, fragments the error output must contain)
CASES: dict[str, tuple[int, list[str]]] = {
    "duplicate-key.yaml": (2, ["Pulumi.h.yaml:4:", "duplicate key 'archipelago:environment' (first given at line 2)"]),
    "tab.yaml": (2, ["Pulumi.h.yaml:6:", "a tab character"]),
    "not-utf8.yaml": (2, ["Pulumi.h.yaml:6:", "is not UTF-8 text (byte 0xe9"]),
    "two-documents.yaml": (2, ["Pulumi.h.yaml:6:", "more than one YAML document"]),
    "top-level-list.yaml": (2, ["Pulumi.h.yaml:1:", "must be a mapping with a 'config:' key (found a list)"]),
    "config-string.yaml": (2, ["Pulumi.h.yaml:1: config: 'x' must be a mapping of keys to values (found a string)"]),
    "unquoted-version.yaml": (2, ["Pulumi.h.yaml:5: clusters[0:hub].kubernetesVersion: 1.30 must be quoted", 'write "1.30"']),
    "broken-management.yaml": (2, ["clusters[0:hub].cloud: 'oracle'"]),
    "empty.yaml": (2, ["Pulumi.h.yaml:1: is empty"]),
    "python-tag.yaml": (2, ["Pulumi.h.yaml:6:", "!!python/object/apply:os.system is not allowed"]),
    "date-value.yaml": (2, ["Pulumi.h.yaml:6:", "!!timestamp is not allowed"]),
    "recursive-alias.yaml": (2, ["Pulumi.h.yaml:6:", "alias refers to the value that contains it"]),
    "number-key.yaml": (2, ["Pulumi.h.yaml:6: config: '1' is not a string key"]),
    "nul-byte.yaml": (2, ["Pulumi.h.yaml:6:", "NUL character"]),
    "alias-bomb.yaml": (2, [f"expands to more than {stackfile.MAX_NODES} values"]),
    "deep-nesting.yaml": (2, ["Pulumi.h.yaml:2:", f"nested deeper than {stackfile.MAX_DEPTH} levels"]),
    "ten-megabytes.yaml": (2, ["Pulumi.h.yaml: is larger than 256 KiB"]),
    "long-value.yaml": (2, ["Pulumi.h.yaml:4: gcpProject: 'xxxx", "(200002 characters)"]),
    "control-characters-in-key.yaml": (2, ["Pulumi.h.yaml:4: security.bad\\nkey\\x1b[31m:fire:: 'bad\\nkey\\x1b[31m:fire:' unknown key"]),
}

# Never in the output, per file: consequences of an earlier error, and whole echoed values.
ABSENT = {
    "broken-management.yaml": ["role 'management'", "found 0"],
    "long-value.yaml": ["x" * 1000],
    "unquoted-version.yaml": ["1.3 "],
    "control-characters-in-key.yaml": ["\x1b", "🔥"],  # no raw escape sequence, no emoji
}


def _stage(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name.removesuffix(".yaml")
    root.mkdir()
    target = root / "Pulumi.h.yaml"
    if name in GENERATED:
        target.write_text(GENERATED[name])
    else:
        shutil.copyfile(CORPUS / name, target)
    return root


def test_corpus_is_complete() -> None:
    """Every file in tests/hostile has an expectation (a new case cannot be forgotten)."""
    assert {p.name for p in CORPUS.glob("*.yaml")} | set(GENERATED) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_exits_2_with_file_line_and_reason(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _stage(name, tmp_path)
    code, fragments = CASES[name]
    # Bounded work: reading and validating the file, as the plan does before anything else.
    tracemalloc.start()
    start = time.perf_counter()
    try:
        try:
            f = stackfile.parse(root / "Pulumi.h.yaml", prefix="archipelago:", secret_placeholder="[secret]")
            build_spec(f.raw, "h")
        except ConfigError:
            pass
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Measured 0.1-5 ms and under 1 MiB each (docs/input-safety.md); the bounds leave room for a
    # loaded machine and still fail on any expansion.
    assert seconds < 1, seconds
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    status = cli.main(["plan", "h", "--root", str(root)])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert status == code, out
    assert "Traceback" not in out
    for fragment in fragments:
        assert fragment in out, out
    for fragment in ABSENT.get(name, []):
        assert fragment not in out, out
    assert len(out) < 4000, "an error message must not echo the input back"


def test_cli_subprocess_never_shows_a_traceback(tmp_path: Path) -> None:
    """The real entry point, for the deepest file (a recursion limit would surface here)."""
    root = _stage("deep-nesting.yaml", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "offline", "plan", "h", "--root", str(root)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_error_lines_are_not_wrapped(tmp_path: Path) -> None:
    """CI logs are not terminals: a long key path stays on one line, searchable as a whole."""
    root = tmp_path / "s"
    root.mkdir()
    (root / "Pulumi.h.yaml").write_text(HEADER + "  archipelago:clusters:\n"
                                        "    - {name: hub, cloud: aws, region: us-east-1, role: management, kubernetesVersion: '1.35',\n"
                                        "       network: {serviceCidr: 10.250.0.0/30}}\n")
    proc = subprocess.run([sys.executable, "-m", "offline", "plan", "h", "--root", str(root)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    line = next(ln for ln in proc.stderr.splitlines() if "serviceCidr" in ln)
    assert len(line) > 80 and line.rstrip().endswith("must be between /12 and /24"), proc.stderr


def test_aliases_within_bounds_still_work(tmp_path: Path) -> None:
    """Anchors are legitimate YAML: a small reuse parses."""
    path = tmp_path / "Pulumi.h.yaml"
    path.write_text(HEADER + "  archipelago:clusters:\n"
                    "    - &hub {name: hub, cloud: aws, region: us-east-1, role: management, kubernetesVersion: '1.35'}\n"
                    "  archipelago:x: *hub\n")
    f = stackfile.parse(path, prefix="archipelago:", secret_placeholder="[secret]")
    assert f.raw["x"]["name"] == "hub"
    assert f.lines["clusters[0].name"] == 5


def test_a_ten_megabyte_value_from_the_runtime_is_not_echoed() -> None:
    """``pulumi up`` passes config without the file bound: the message caps what it shows."""
    from stacks.validate import build_spec

    from .conftest import stack_raw

    raw = stack_raw("dev")
    raw["gcpProject"] = "y" * 10_000_000
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev")
    assert len(info.value.render()) < 4000
