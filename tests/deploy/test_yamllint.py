"""Every YAML file under deploy/ — the rendered ones included — is clean by the repository's .yamllint."""

from __future__ import annotations

from pathlib import Path

from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parents[2]


def lint(text: str, config: YamlLintConfig) -> list[str]:
    """yamllint's problems in one document, errors and warnings alike."""
    return [f"{p.line}:{p.column} {p.rule}: {p.message}" for p in linter.run(text, config)]


def test_every_yaml_file_under_deploy_is_clean() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))
    files = sorted([*(ROOT / "deploy").rglob("*.yaml"), *(ROOT / "deploy").rglob("*.yml")])
    assert len(files) > 20
    found = [f"{path.relative_to(ROOT)}:{p}" for path in files for p in lint(path.read_text(), config)]
    assert not found, "\n".join(found)


def test_yamllint_catches_what_it_should() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))
    assert lint("a: 1\na: 2\n", config)  # a duplicated key
    assert lint("a:\n   - b\n", config) or lint("a:  b\n", config)  # spacing
    assert lint("a: b   \n", config)  # trailing spaces
