"""Name -> loader registry and the `load` entry point."""

from __future__ import annotations

from collections.abc import Callable

from genjax.data.dataset import Dataset, validate

LOADERS: dict[str, Callable[..., Dataset]] = {}


def register(name: str):
    """Decorator: register `fn(**options) -> Dataset` under `name`."""

    def wrap(fn):
        LOADERS[name] = fn
        return fn

    return wrap


def load(name: str, **options) -> Dataset:
    """Load dataset `name`; options (data_dir, seed, test_fraction, ...) go to its loader."""
    _import_loaders()
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(sorted(LOADERS))}")
    return validate(LOADERS[name](**options))


OPTIONAL_MODULES = ("synthetic", "sequences", "tabular")


def _import_loaders() -> None:
    """Import the modules whose loaders register themselves on import."""
    import importlib

    from genjax.data import embedded, images  # noqa: F401

    for name in OPTIONAL_MODULES:
        try:
            importlib.import_module(f"genjax.data.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"genjax.data.{name}":
                raise
