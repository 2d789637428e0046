"""docs/api.md runs as written: every ```python block, in order, in one namespace, from the project root."""

import re

from conftest import ROOT


def test_every_example_of_the_api_page_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    page = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 6
    # the page's run directories go to a temporary folder, not the project's runs/
    code = "\n".join(blocks).replace('"runs/', f'"{tmp_path}/runs/')
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "unknown encoder 'lstmm'" in out
    assert namespace["probs"].shape == (1, 6) and namespace["vectors"].shape == (2, 256)
    assert namespace["run"].run_dir == f"{tmp_path}/runs/api-trec" and 0 <= namespace["result"]["accuracy"] <= 1
    assert not (tmp_path / "runs" / "api-typo").exists()
