"""The plugin manager: registration, discovery through entry points, isolation, limits, listing."""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

import pytest

from embedpipe import PluginError, hookimpl, hookspecs
from embedpipe.errors import ConfigError
from embedpipe.plugins import KINDS, PluginManager


def test_every_hook_is_documented_with_its_parameters() -> None:
    hooks = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("embedpipe_")]
    assert {h.__name__ for h in hooks} >= {f"embedpipe_register_{k}" for k in KINDS} | {"embedpipe_resolve_tokenizer"}
    for hook in hooks:
        doc = inspect.getdoc(hook) or ""
        for parameter in inspect.signature(hook).parameters:
            assert f":param {parameter}:" in doc, f"{hook.__name__} does not document {parameter}"


class _OnePooler:
    @hookimpl
    def embedpipe_register_poolers(self, register):  # type: ignore[no-untyped-def]
        register("first", dict)


def test_plugin_object_registered_directly_is_used() -> None:
    manager = PluginManager()
    manager.register(_OnePooler(), name="in-test")
    assert manager.create("poolers", "FIRST", a=1) == {"a": 1}  # names are case-insensitive
    info = {p.name: p for p in manager.plugins()}["in-test"]
    assert info.registers == {"poolers": ["first"]}


def test_a_name_registered_twice_names_both_plugins() -> None:
    manager = PluginManager()
    manager.register(_OnePooler(), name="alpha")
    manager.register(_OnePooler(), name="beta")
    with pytest.raises(PluginError, match="alpha.*beta|beta.*alpha"):
        manager.registry("poolers")


def test_unknown_component_lists_what_exists() -> None:
    manager = PluginManager()
    manager.register(_OnePooler(), name="in-test")
    with pytest.raises(ConfigError, match=r"no pooler named 'nope'.*known: first"):
        manager.create("poolers", "nope")


def _fake_distribution(root: Path, dist: str, module: str, body: str) -> None:
    """A real (if minimal) installed distribution: a module plus a .dist-info with entry points."""
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / f"{dist.replace('-', '_')}-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 9.9.9\n")
    (info / "entry_points.txt").write_text(f"[embedpipe]\n{module} = {module}\n")


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("EMBEDPIPE_LOAD_PLUGINS", raising=False)
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("ep_fake_")]:
        del sys.modules[name]


GOOD = """
from embedpipe import hookimpl

@hookimpl
def embedpipe_register_sinks(register):
    register("fake-sink", object)
"""


def test_installed_distribution_is_discovered_with_its_version(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-good", "ep_fake_good", GOOD)
    manager = PluginManager()
    manager.load_entry_points()
    assert "fake-sink" in manager.registry("sinks")
    info = {p.name: p for p in manager.plugins()}["ep_fake_good"]
    assert (info.distribution, info.version, info.registers) == ("ep-fake-good", "9.9.9", {"sinks": ["fake-sink"]})


def test_broken_plugin_is_reported_and_skipped(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-good", "ep_fake_good", GOOD)
    _fake_distribution(fake_site, "ep-fake-broken", "ep_fake_broken", "raise RuntimeError('boom at import')\n")
    manager = PluginManager()
    manager.load_entry_points()
    assert "fake-sink" in manager.registry("sinks")
    [failure] = [f for f in manager.failures if f.name == "ep_fake_broken"]
    assert failure.distribution == "ep-fake-broken"
    assert "boom at import" in failure.error


def test_strict_mode_fails_on_a_broken_plugin(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-broken", "ep_fake_broken", "raise RuntimeError('boom at import')\n")
    with pytest.raises(PluginError, match="ep_fake_broken.*ep-fake-broken.*boom at import"):
        PluginManager().load_entry_points(strict=True)


TYPO = """
from embedpipe import hookimpl

@hookimpl
def embedpipe_register_typo(register):
    pass
"""
RAISES_IN_REGISTRATION = """
from embedpipe import hookimpl

@hookimpl
def embedpipe_register_poolers(register):
    register("half-registered", dict)
    raise RuntimeError("boom while registering")
"""


def test_a_misspelt_hook_is_reported_and_skipped_like_any_broken_plugin(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-good", "ep_fake_good", GOOD)
    _fake_distribution(fake_site, "ep-fake-typo", "ep_fake_typo", TYPO)
    manager = PluginManager()
    manager.load_entry_points(allowed=["ep-fake-typo", "ep-fake-good"])
    assert "fake-sink" in manager.registry("sinks")
    [failure] = manager.failures
    assert (failure.name, failure.distribution) == ("ep_fake_typo", "ep-fake-typo")
    assert "unknown hook 'embedpipe_register_typo'" in failure.error
    assert [p.name for p in manager.plugins()] == ["ep_fake_good"]
    manager.register(_OnePooler(), name="after-the-typo")  # the manager stays usable
    assert "first" in manager.registry("poolers")


def test_strict_mode_fails_on_a_misspelt_hook(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-typo", "ep_fake_typo", TYPO)
    with pytest.raises(PluginError, match="ep_fake_typo.*ep-fake-typo.*unknown hook 'embedpipe_register_typo'"):
        PluginManager().load_entry_points(strict=True, allowed=["ep-fake-typo"])


def test_a_registration_hook_that_raises_is_reported_and_leaves_nothing_behind(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-good", "ep_fake_good", GOOD)
    _fake_distribution(fake_site, "ep-fake-raises", "ep_fake_raises", RAISES_IN_REGISTRATION)
    manager = PluginManager()
    manager.load_entry_points(allowed=["ep-fake-raises", "ep-fake-good"])
    assert "fake-sink" in manager.registry("sinks")
    assert manager.registry("poolers") == {}
    [failure] = manager.failures
    assert failure.name == "ep_fake_raises" and "boom while registering" in failure.error


def test_a_plugin_object_with_a_misspelt_hook_is_refused_in_code() -> None:
    class Typo:
        @hookimpl
        def embedpipe_register_typo(self, register):  # type: ignore[no-untyped-def]
            pass

    manager = PluginManager()
    with pytest.raises(Exception, match="embedpipe_register_typo"):
        manager.register(Typo(), name="typo")
    assert manager.plugins() == []


def test_cli_lists_a_plugin_with_a_misspelt_hook_as_skipped(fake_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from embedpipe.cli import main

    _fake_distribution(fake_site, "ep-fake-typo", "ep_fake_typo", TYPO)
    monkeypatch.setattr("embedpipe.plugins._default", None)  # the process-wide manager, built again
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "embedpipe-pooling" in result.stdout
    assert "skipped ep_fake_typo (ep-fake-typo): PluginValidationError: unknown hook 'embedpipe_register_typo'" in result.stderr
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    strict = CliRunner().invoke(main, ["--strict-plugins", "plugins"])
    assert strict.exit_code == 2 and "ep_fake_typo" in strict.stderr


LAZY = """
from embedpipe import hookimpl

@hookimpl
def embedpipe_register_sinks(register):
    register("lazy-sink", "ep_fake_lazy_sink:LazySink")
    register("missing-sink", "ep_fake_lazy_sink:NoSuchSink")
"""


def test_a_factory_registered_by_import_path_is_imported_on_first_use(fake_site: Path) -> None:
    _fake_distribution(fake_site, "ep-fake-lazy", "ep_fake_lazy", LAZY)
    (fake_site / "ep_fake_lazy_sink.py").write_text(
        "class LazySink:\n    def __init__(self, size: int = 1) -> None:\n        self.size = size\n"
    )
    manager = PluginManager()
    manager.load_entry_points(allowed=["ep-fake-lazy"])
    assert {"lazy-sink", "missing-sink"} <= set(manager.registry("sinks"))
    assert "ep_fake_lazy_sink" not in sys.modules
    assert manager.create("sinks", "lazy-sink", size=3).size == 3
    with pytest.raises(ConfigError, match="does not take these options"):
        manager.create("sinks", "lazy-sink", colour="red")
    with pytest.raises(
        PluginError, match="'missing-sink' of plugin 'ep_fake_lazy' cannot be imported from ep_fake_lazy_sink:NoSuchSink"
    ):
        manager.create("sinks", "missing-sink")


def test_a_factory_that_is_neither_an_object_nor_an_import_path_fails_its_plugin(fake_site: Path) -> None:
    body = "from embedpipe import hookimpl\n\n@hookimpl\ndef embedpipe_register_sinks(register):\n    register('bad', 'not a path')\n"
    _fake_distribution(fake_site, "ep-fake-badpath", "ep_fake_badpath", body)
    manager = PluginManager()
    manager.load_entry_points(allowed=["ep-fake-badpath"])
    [failure] = manager.failures
    assert "'bad' is registered as 'not a path', which is not an import path" in failure.error


def test_a_command_whose_import_path_fails_is_skipped_and_the_others_work(
    fake_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from embedpipe.cli import main

    body = "from embedpipe import hookimpl\n\n@hookimpl\ndef embedpipe_register_commands(register):\n    register('gone', 'ep_fake_nowhere:command')\n"
    _fake_distribution(fake_site, "ep-fake-command", "ep_fake_command", body)
    monkeypatch.setattr("embedpipe.plugins._default", None)
    monkeypatch.setattr(main, "_from_plugins", None)  # the group's cached plugin commands
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert "load" in result.stdout and "gone" not in result.stdout
    assert "skipped command gone" in result.stderr and "ep_fake_nowhere" in result.stderr


def test_every_first_party_registration_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry-point modules name their components by import path: each path must import."""
    monkeypatch.delenv("EMBEDPIPE_LOAD_PLUGINS", raising=False)
    manager = PluginManager()
    manager.load_entry_points(
        allowed=[f"embedpipe-{d}" for d in ("tokenizers", "pooling", "postprocess", "quantize", "sinks", "presets", "oracle")]
    )
    for kind in KINDS:
        for registration in manager.registry(kind).values():
            assert registration.load() is not None, (kind, registration.name)


def test_load_plugins_variable_limits_distributions(fake_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(fake_site, "ep-fake-good", "ep_fake_good", GOOD)
    monkeypatch.setenv("EMBEDPIPE_LOAD_PLUGINS", "embedpipe-pooling")
    manager = PluginManager()
    manager.load_entry_points()
    assert set(manager.registry("poolers")) >= {"mean", "cls"}
    assert manager.registry("sinks") == {} and manager.registry("tokenizers") == {}
    monkeypatch.setenv("EMBEDPIPE_LOAD_PLUGINS", "")
    empty = PluginManager()
    empty.load_entry_points()
    assert empty.plugins() == [] and empty.registry("poolers") == {}


def test_first_party_and_contrib_plugins_are_found_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBEDPIPE_LOAD_PLUGINS", raising=False)
    manager = PluginManager()
    manager.load_entry_points(strict=True)
    by_dist = {p.distribution: p for p in manager.plugins()}
    assert {"embedpipe-tokenizers", "embedpipe-pooling", "embedpipe-postprocess", "embedpipe-sinks", "embedpipe-presets"} <= set(
        by_dist
    )
    assert by_dist["embedpipe-extra-pooling"].registers == {"poolers": ["weightedmean", "mean_sqrt_len_tokens"]}
    assert {"bert", "bert-op"} <= set(manager.registry("tokenizers"))


class _ClaimsEverything:
    @hookimpl
    def embedpipe_resolve_tokenizer(self, source):  # type: ignore[no-untyped-def]
        return "third-party"


def test_a_third_party_resolver_wins_over_the_built_in(minilm_dir: Path) -> None:
    from embedpipe.source import load_source

    manager = PluginManager()
    manager.load_entry_points()
    source = load_source(minilm_dir)
    assert manager.resolve_tokenizer(source) == "wordpiece"
    manager.register(_ClaimsEverything(), name="claims")
    assert manager.resolve_tokenizer(source) == "third-party"


def test_options_a_factory_does_not_take_are_a_config_error() -> None:
    class Takes:
        def __init__(self, size: int) -> None:
            self.size = size

    class Registers:
        @hookimpl
        def embedpipe_register_postprocessors(self, register):  # type: ignore[no-untyped-def]
            register("takes", Takes)

    manager = PluginManager()
    manager.register(Registers(), name="in-test")
    assert manager.create("postprocessors", "takes", size=3).size == 3
    with pytest.raises(ConfigError, match="'takes' does not take these options"):
        manager.create("postprocessors", "takes", colour="red")


def test_cli_strict_plugins_is_one_line_and_exit_2(fake_site: Path) -> None:
    from click.testing import CliRunner

    from embedpipe.cli import main

    _fake_distribution(fake_site, "ep-fake-broken", "ep_fake_broken", "raise RuntimeError('boom at import')\n")
    result = CliRunner().invoke(main, ["--strict-plugins", "plugins"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: plugin 'ep_fake_broken' from ep-fake-broken failed to load (RuntimeError: boom at import); "
        "fix or uninstall that distribution, or drop --strict-plugins to skip it"
    ]
