"""The plugin manager: entry-point discovery with per-plugin isolation, and the name registries."""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from embedpipe import hookspecs
from embedpipe.errors import ConfigError, PluginError

log = logging.getLogger(__name__)

LOAD_ENV = "EMBEDPIPE_LOAD_PLUGINS"
KINDS = ("tokenizers", "poolers", "postprocessors", "quantizers", "sinks", "presets", "commands")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded, reported instead of crashing."""

    name: str
    distribution: str
    error: str


@dataclass
class Registration:
    """One registered name: who registered it and the factory."""

    name: str
    factory: Callable[..., Any]
    plugin: str


@dataclass
class PluginInfo:
    """A loaded plugin as ``embedpipe plugins`` lists it."""

    name: str
    distribution: str
    version: str
    registers: dict[str, list[str]] = field(default_factory=dict)


def _distribution_of(entry_point: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = entry_point.dist
    return (dist.name, dist.version) if dist is not None else ("?", "?")


class PluginManager:
    """A typed wrapper around pluggy's manager, so every hook call site is checked."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self._sources: dict[str, tuple[str, str]] = {}
        self._registries: dict[str, dict[str, Registration]] | None = None

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self, *, strict: bool = False, allowed: Iterable[str] | None = None) -> None:
        """Load every ``embedpipe`` entry point; a broken one is recorded and skipped unless strict.

        ``allowed`` (default: ``EMBEDPIPE_LOAD_PLUGINS``, comma-separated distribution names;
        empty means none) limits which distributions load.
        """
        if allowed is None:
            allowed = _allowed_from_env()
        allowed_set = None if allowed is None else {_canonical(a) for a in allowed}
        for entry_point in importlib.metadata.entry_points(group=hookspecs.PROJECT):
            dist_name, version = _distribution_of(entry_point)
            if allowed_set is not None and _canonical(dist_name) not in allowed_set:
                continue
            if self._pm.get_plugin(entry_point.name) is not None:
                continue
            try:
                module = entry_point.load()
                self._pm.register(module, name=entry_point.name)
            except Exception as exc:  # a third party's bug must not take the tool down
                failure = PluginFailure(entry_point.name, dist_name, f"{type(exc).__name__}: {exc}")
                if strict:
                    raise PluginError(
                        f"plugin {failure.name!r} from {failure.distribution} failed to load ({failure.error})",
                        "fix or uninstall that distribution, or drop --strict-plugins to skip it",
                    ) from exc
                log.warning("skipped plugin %s from %s: %s", failure.name, failure.distribution, failure.error)
                self.failures.append(failure)
                continue
            self._sources[entry_point.name] = (dist_name, version)
        self._pm.check_pending()
        self._registries = None

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object directly (a module or any object with hookimpls)."""
        registered = self._pm.register(plugin, name=name)
        self._sources.setdefault(registered or repr(plugin), ("(registered in code)", ""))
        self._pm.check_pending()
        self._registries = None

    # -- registries ------------------------------------------------------------------------
    def registry(self, kind: str) -> dict[str, Registration]:
        """Every name registered for ``kind`` (one of ``KINDS``), by lower-case name."""
        if self._registries is None:
            self._registries = {k: self._collect(k) for k in KINDS}
        return self._registries[kind]

    def _collect(self, kind: str) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        hook = getattr(self._pm.hook, f"embedpipe_register_{kind}")
        for impl in hook.get_hookimpls():
            plugin_name = self._pm.get_name(impl.plugin) or repr(impl.plugin)

            def register(name: str, factory: Callable[..., Any], _plugin: str = plugin_name) -> None:
                key = name.lower()
                if key in found and found[key].plugin != _plugin:
                    raise PluginError(
                        f"{kind[:-1]} name {name!r} is registered by both {found[key].plugin!r} and {_plugin!r}",
                        "uninstall one of them or limit loading with EMBEDPIPE_LOAD_PLUGINS",
                    )
                found[key] = Registration(name, factory, _plugin)

            impl.function(register=register)
        return found

    def create(self, kind: str, name: str, **options: Any) -> Any:
        """Build the component registered as ``name``; unknown names list what exists."""
        registration = self.registry(kind).get(name.lower())
        if registration is None:
            known = ", ".join(sorted(self.registry(kind))) or "none installed"
            raise ConfigError(
                f"no {kind[:-1]} named {name!r} is registered (known: {known})",
                f"choose one of those or install the plugin that provides {name!r} (`embedpipe plugins` lists them)",
            )
        try:
            inspect.signature(registration.factory).bind(**options)
        except TypeError as exc:
            raise ConfigError(
                f"{kind[:-1]} {name!r} does not take these options ({exc})",
                f"check the options given for {name!r} in the config",
            ) from exc
        except ValueError:  # a builtin without a readable signature: let the call decide
            pass
        return registration.factory(**options)

    def resolve_tokenizer(self, source: Any) -> str | None:
        """Ask the resolver hooks which tokenizer fits ``source``."""
        return self._pm.hook.embedpipe_resolve_tokenizer(source=source)

    def text_prefix(self, source: Any, config: Any) -> str | None:
        """Ask the prefix hooks (e.g. embedpipe-prompts) what text the graph puts before every input."""
        return self._pm.hook.embedpipe_text_prefix(source=source, config=config)

    # -- listing ---------------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        """Each loaded plugin with its distribution, version and the names it registers."""
        infos: dict[str, PluginInfo] = {}
        for name, _plugin in self._pm.list_name_plugin():
            dist, version = self._sources.get(name, ("(registered in code)", ""))
            infos[name] = PluginInfo(name, dist, version)
        for kind in KINDS:
            for registration in self.registry(kind).values():
                info = infos.get(registration.plugin)
                if info is not None:
                    info.registers.setdefault(kind, []).append(registration.name)
        return sorted(infos.values(), key=lambda i: (i.distribution, i.name))


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _allowed_from_env() -> list[str] | None:
    value = os.environ.get(LOAD_ENV)
    if value is None:
        return None
    return [part for part in value.split(",") if part.strip()]


_default: PluginManager | None = None


def get_plugin_manager(*, strict: bool = False) -> PluginManager:
    """The process-wide manager with every installed plugin loaded (built on first use)."""
    global _default
    if _default is None or strict:
        manager = PluginManager()
        manager.load_entry_points(strict=strict)
        _default = manager
    return _default
