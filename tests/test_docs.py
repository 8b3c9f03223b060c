"""The documentation: short README, generated pages current, every config key described, links
that resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from offline import docs
from stacks.loader import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_generated_docs_are_current() -> None:
    """docs/config-reference.md and every generated block equal what ``python -m offline docs`` writes."""
    assert docs.stale() == [], "run python -m offline docs"


def test_every_config_key_is_described() -> None:
    assert docs.undocumented() == []


def test_config_reference_lists_every_key_with_its_default() -> None:
    text = docs.config_reference()
    # Keys at every depth, including the list items parsed by another model (clusters[]).
    for key, default in [("addressSpace", "required"), ("clusters[].network.slot", "—"),
                         ("clusters[].nodes.diskSizeGb", "`50`"), ("backup.schedule", "`0 2 * * *`"),
                         ("mesh.locality.distribute[].to", "required"), ("submariner.globalnet.cidr", "`242.0.0.0/8`")]:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, key
        assert f"| {default} |" in row, row


def test_a_changed_description_makes_the_reference_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config-reference.md").write_text(docs.config_reference())
    assert docs.stale(tmp_path) == []
    field = docs.FleetConfig.model_fields["gcp_project"]
    monkeypatch.setattr(field, "description", "something else")
    assert docs.stale(tmp_path) == [tmp_path / "config-reference.md"]


def test_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"`[^`\n]*`", "", page.read_text())  # code spans (regexes) are not links
    for target, _ in LINK.findall(text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_issue_labels(page: Path) -> None:
    assert not re.search(r"\bissue \d+", page.read_text(), re.IGNORECASE)
