"""The release artefacts: the sdist and the wheel built from it (no network: the installed
setuptools, no build isolation), their metadata, entry points and contents, and `twine check`.
The fresh-venv smoke test of the wheel, which needs the network, is scripts/smoke_test_wheel.sh
(docs/release.md)."""

import email.parser
import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli comes with build (the test extra)
    import tomli as tomllib

import jbert_tf2

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "jbert-convert",
    "jbert-run-classifier",
    "jbert-extract-features",
    "jbert-run-ner",
    "jbert-run-finetuning",
    "jbert-tune",
    "jbert-export",
    "jbert-pretrain",
    "jbert-create-pretraining-data",
}
# Never copied into the build: outputs of earlier builds and runs (a stale build/lib would leak
# deleted modules into the wheel) and what git ignores.
SKIP = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".ruff_cache", ".hypothesis", ".benchmarks", "output", "site",
)  # fmt: skip


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``python -m build`` on a copy of the tree: the sdist, then the wheel built from it."""
    pytest.importorskip("build", reason="the test extra installs build")
    tmp = tmp_path_factory.mktemp("packaging")
    source, out = tmp / "source", tmp / "dist"
    shutil.copytree(ROOT, source, ignore=SKIP)
    # Reading the version must not import the package's dependencies: any import of
    # TensorFlow or Keras by the build backend fails.
    poison = tmp / "poison"
    for name in ("tensorflow", "keras"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(
            f"raise ImportError('the build imported {name}')"
        )
    env = dict(os.environ, PYTHONPATH=str(poison))
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    version = jbert_tf2.__version__
    wheel = out / f"jbert_tf2-{version}-py3-none-any.whl"
    sdist = out / f"jbert_tf2-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in out.iterdir())
    return wheel, sdist


def _wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        info = f"jbert_tf2-{jbert_tf2.__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
        names = zf.namelist()
    return metadata, entry_points, names


def test_version_has_one_source():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "jbert_tf2.__version__"
    }


def test_wheel_metadata(dist):
    wheel, _ = dist
    metadata, _, _ = _wheel_metadata(wheel)
    assert metadata["Name"] == "jbert-tf2"
    assert metadata["Version"] == jbert_tf2.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "jbert-convert" in metadata.get_payload()  # the README is the long description
    classifiers = metadata.get_all("Classifier")
    for expected in (
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Natural Language :: Japanese",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ):
        assert expected in classifiers
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Changelog", "Issues"}
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("tensorflow>=") for r in requires)
    # test-only packages are extras, never plain requirements
    plain = [r for r in requires if "extra ==" not in r]
    for test_only in ("torch", "transformers", "pytest", "jax", "mkdocs"):
        assert not any(r.split(";")[0].strip().startswith(test_only) for r in plain), plain


def test_wheel_entry_points(dist):
    wheel, _ = dist
    _, entry_points, _ = _wheel_metadata(wheel)
    section, scripts = None, {}
    for line in entry_points.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and section == "console_scripts":
            name, target = (part.strip() for part in line.split("=", 1))
            scripts[name] = target
    assert set(scripts) == COMMANDS
    for name, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_wheel_contents(dist):
    wheel, _ = dist
    _, _, names = _wheel_metadata(wheel)
    assert not [n for n in names if n.startswith(("tests/", "examples/", "docs/", "benchmarks/"))]
    assert {n.split("/")[0] for n in names} == {
        "jbert_tf2",
        f"jbert_tf2-{jbert_tf2.__version__}.dist-info",
    }
    package = ROOT / "jbert_tf2"
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert modules <= set(names), sorted(modules - set(names))
    assert f"jbert_tf2-{jbert_tf2.__version__}.dist-info/licenses/LICENSE" in names


def test_sdist_contents(dist):
    _, sdist = dist
    top = f"jbert_tf2-{jbert_tf2.__version__}"
    with tarfile.open(sdist) as tf:
        names = {n.removeprefix(top + "/") for n in tf.getnames()}
    for expected in (
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "pyproject.toml",
        "MANIFEST.in",
        "mkdocs.yml",
        "docs/index.md",
        "docs/guide.md",
        "docs/hooks.py",
        "examples/quickstart.py",
        "examples/data/README.md",
        "tests/conftest.py",
        "jbert_tf2/__init__.py",
    ):
        assert expected in names, expected
    assert not [n for n in names if n.startswith("examples/output/") or "__pycache__" in n]


def test_twine_check(dist):
    pytest.importorskip("twine", reason="the test extra installs twine")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


# Links users follow from PyPI ------------------------------------------------------------------

PLACEHOLDERS = ("example.com", "example.org", "your-org", "your_org", "yourname", "username")


def repository_url() -> str:
    """The repository mkdocs.yml names (``repo_url``): the one base every link shares."""
    for line in (ROOT / "mkdocs.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("repo_url:"):
            return line.split(":", 1)[1].strip().rstrip("/")
    raise AssertionError("mkdocs.yml has no repo_url")


def test_project_urls_are_the_repositorys_and_no_placeholders():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    repository = repository_url()
    assert urls["Repository"] == repository and urls["Homepage"].startswith(repository)
    assert urls["Issues"] == f"{repository}/issues"
    assert urls["Changelog"] == f"{repository}/blob/main/CHANGELOG.md"
    for name, url in urls.items():
        assert url.startswith("https://"), name
        assert not any(p in url.lower() for p in PLACEHOLDERS), url


def test_readme_links_resolve_on_pypi():
    """PyPI shows the README without the repository: a relative link (docs/guide.md) leads
    nowhere there. Links into the repository must name files that exist."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"(?:href|src)=\"([^\"]+)\"", text)
    assert links, "the README links to its documentation"
    blob = f"{repository_url()}/blob/main/"
    for link in links:
        assert re.match(r"https?://", link), f"README: {link} does not resolve on PyPI"
        assert not any(p in link.lower() for p in PLACEHOLDERS), link
        if link.startswith(blob):
            path = link.removeprefix(blob).split("#")[0]
            assert (ROOT / path).is_file(), f"README: {link} names no file of the repository"
