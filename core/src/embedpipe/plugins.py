"""The plugin manager: entry-point discovery with per-plugin isolation, and the name registries."""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from embedpipe import hookspecs
from embedpipe.errors import ConfigError, PluginError

log = logging.getLogger(__name__)

LOAD_ENV = "EMBEDPIPE_LOAD_PLUGINS"
KINDS = ("tokenizers", "poolers", "postprocessors", "quantizers", "sinks", "presets", "commands")
_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded, reported instead of crashing."""

    name: str
    distribution: str
    error: str


@dataclass
class Registration:
    """One registered name: who registered it and the factory.

    A factory given as ``"package.module:Name"`` is imported on first use, so an entry-point
    module can register components without importing their (heavy) modules at start-up.
    """

    name: str
    factory: Any
    plugin: str

    def __post_init__(self) -> None:
        if isinstance(self.factory, str) and not _IMPORT_PATH.fullmatch(self.factory):
            raise PluginError(
                f"{self.name!r} is registered as {self.factory!r}, which is not an import path",
                'register the object itself or its path as "package.module:Name"',
            )

    def load(self) -> Any:
        """The factory itself, imported now if it was registered by its import path."""
        if isinstance(self.factory, str):
            module, _, attribute = self.factory.partition(":")
            try:
                self.factory = getattr(importlib.import_module(module), attribute)
            except Exception as exc:  # a third party's bug or missing dependency, named as theirs
                raise PluginError(
                    f"{self.name!r} of plugin {self.plugin!r} cannot be imported from {self.factory} ({type(exc).__name__}: {exc})",
                    "fix or reinstall the distribution that provides it (`embedpipe plugins` lists them)",
                ) from exc
        return self.factory


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
        self._registered: dict[str, dict[str, dict[str, Registration]]] = {}  # plugin -> kind -> lower-case name
        self._registries: dict[str, dict[str, Registration]] | None = None

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self, *, strict: bool = False, allowed: Iterable[str] | None = None) -> None:
        """Load every ``embedpipe`` entry point; a broken one is recorded and skipped unless strict.

        Each plugin is imported, checked against the hook specifications and asked for its
        registrations on its own, so one broken plugin (an import error, a misspelt hook, a
        registration hook that raises) never takes the others down.

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
                self._admit(entry_point.load(), entry_point.name)
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

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object directly (a module or any object with hookimpls); errors raise."""
        registered = self._admit(plugin, name)
        self._sources.setdefault(registered, ("(registered in code)", ""))

    def _admit(self, plugin: object, name: str | None) -> str:
        """Register ``plugin``, check its hooks and collect its registrations; on any error, undo."""
        registered = self._pm.register(plugin, name=name) or repr(plugin)
        try:
            self._pm.check_pending()  # every plugin before this one passed, so a failure is this one's
            self._registered[registered] = self._registrations_of(plugin, registered)
        except Exception:
            self._pm.unregister(plugin)
            raise
        self._registries = None
        return registered

    def _registrations_of(self, plugin: object, plugin_name: str) -> dict[str, dict[str, Registration]]:
        """What ``plugin``'s registry hooks register, by kind and lower-case name."""
        found: dict[str, dict[str, Registration]] = {}
        for kind in KINDS:
            names: dict[str, Registration] = {}

            def register(name: str, factory: Any, _names: dict[str, Registration] = names) -> None:
                _names[name.lower()] = Registration(name, factory, plugin_name)

            for impl in getattr(self._pm.hook, f"embedpipe_register_{kind}").get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(register=register)
            if names:
                found[kind] = names
        return found

    # -- registries ------------------------------------------------------------------------
    def registry(self, kind: str) -> dict[str, Registration]:
        """Every name registered for ``kind`` (one of ``KINDS``), by lower-case name."""
        if self._registries is None:
            self._registries = {k: self._merged(k) for k in KINDS}
        return self._registries[kind]

    def _merged(self, kind: str) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        for registrations in self._registered.values():
            for key, registration in registrations.get(kind, {}).items():
                if key in found:
                    raise PluginError(
                        f"{kind[:-1]} name {registration.name!r} is registered by both {found[key].plugin!r} and {registration.plugin!r}",
                        "uninstall one of them or limit loading with EMBEDPIPE_LOAD_PLUGINS",
                    )
                found[key] = registration
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
        factory = registration.load()
        try:
            inspect.signature(factory).bind(**options)
        except TypeError as exc:
            raise ConfigError(
                f"{kind[:-1]} {name!r} does not take these options ({exc})",
                f"check the options given for {name!r} in the config",
            ) from exc
        except ValueError:  # a builtin without a readable signature: let the call decide
            pass
        return factory(**options)

    def presets(self) -> dict[str, dict[str, Any]]:
        """Every registered preset's properties, by model name (sorted)."""
        registry = self.registry("presets")
        return {r.name: _preset_value(r.load()) for r in sorted(registry.values(), key=lambda r: r.name)}

    def preset(self, model_name: str) -> dict[str, Any] | None:
        """The properties of ``model_name``'s preset, or ``None`` when no plugin registers one."""
        registration = self.registry("presets").get(model_name.lower())
        return None if registration is None else _preset_value(registration.load())

    def resolve_tokenizer(self, source: Any) -> str | None:
        """Ask the resolver hooks which tokenizer fits ``source``."""
        return self._pm.hook.embedpipe_resolve_tokenizer(source=source)

    def text_prefix(self, source: Any, config: Any) -> str | None:
        """Ask the prefix hooks (e.g. embedpipe-prompts) what text the graph puts before every input."""
        return self._pm.hook.embedpipe_text_prefix(source=source, config=config)

    # -- listing ---------------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        """Each loaded plugin with its distribution, version and the names it registers."""
        infos = []
        for name, _plugin in self._pm.list_name_plugin():
            dist, version = self._sources.get(name, ("(registered in code)", ""))
            registers = {kind: [r.name for r in names.values()] for kind, names in self._registered.get(name, {}).items()}
            infos.append(PluginInfo(name, dist, version, registers))
        return sorted(infos, key=lambda i: (i.distribution, i.name))


def _preset_value(factory: Any) -> dict[str, Any]:
    return dict(factory() if callable(factory) else factory)


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
