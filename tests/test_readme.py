"""The README's two first commands are what a newcomer runs; CI runs the second."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    lines = ROOT.joinpath("README.md").read_text().splitlines()
    return [ln.strip() for ln in lines[:12] if ln.startswith("    ")]


def test_readme_starts_with_start_and_test_commands():
    start, test = _commands()[:2]
    assert "streamlit run dashboard.py" in start and "pip install" in start
    assert "pytest" in test and "pip install" in test


def test_ci_runs_exactly_the_readme_test_command():
    test = _commands()[1]
    ci_lines = [ln.strip() for ln in ROOT.joinpath(".ci/run").read_text().splitlines()]
    assert test in ci_lines


def test_streamlit_config_keeps_the_server_on_loopback_and_offline():
    cfg = ROOT.joinpath(".streamlit/config.toml").read_text()
    assert 'address = "127.0.0.1"' in cfg and "gatherUsageStats = false" in cfg and "headless = true" in cfg


def test_streamlit_upload_limit_is_set_below_the_default():
    """Issue 10, point 7: the upload limit is Streamlit's ``server.maxUploadSize``, set to what
    an import needs (50 MB), not left at Streamlit's default of 200 MB (attack 8)."""
    import tomllib

    cfg = tomllib.loads(ROOT.joinpath(".streamlit/config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] == 50
