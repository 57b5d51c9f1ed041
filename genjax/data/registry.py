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


def _import_loaders() -> None:
    # Each module registers its loaders on import.
    from genjax.data import embedded, images  # noqa: F401

    try:  # optional modules added by later issues
        from genjax.data import synthetic  # noqa: F401
    except ImportError:
        pass
    try:
        from genjax.data import tabular  # noqa: F401
    except ImportError:
        pass
