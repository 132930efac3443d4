"""Public names of a package that load on first use.

The dashboard's first view imports a few light modules of packages whose other modules
pull in pandas, scikit-learn or cvxpy; such a package's ``__init__`` names its public API
through ``lazy_api`` so that naming it costs nothing until a name is used.
"""

from importlib import import_module


def lazy_api(package: str, public: dict[str, str]):
    """``__getattr__`` for ``package`` that imports ``public[name]`` (a module) on first use."""

    def __getattr__(name: str):
        if name in public:
            return getattr(import_module(public[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
