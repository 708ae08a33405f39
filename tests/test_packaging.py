"""pyproject.toml as setuptools reads it: no deprecation warnings on every install."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    requirements = pytest.importorskip("packaging.requirements")
    from packaging.version import Version

    Requirement = requirements.Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["license"] == "Apache-2.0"  # PEP 639, not a {text = ...} table
    floors = [Requirement(r) for r in project["build-system"]["requires"]]
    setuptools = next(r for r in floors if r.name == "setuptools")
    # 77 is the first setuptools to take a license expression (PEP 639).
    assert any(
        s.operator == ">=" and Version(s.version) >= Version("77") for s in setuptools.specifier
    )


def test_setuptools_reads_the_project_without_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("setuptools", minversion="77")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), str(ROOT / "pyproject.toml"))
    messages = [str(w.message).splitlines()[0] for w in caught]
    assert not [m for m in messages if "license" in m.lower()], messages
    assert dist.metadata.license_expression == "Apache-2.0"
