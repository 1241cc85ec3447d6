"""Modules whose code runs on first use rather than on import.

Great Expectations imports scipy.stats and altair at the top of one expectation module (KL divergence: a statistics
test and its chart) that chitieu's suites never use; the two cost ~0.8 s of the ~2.6 s that importing GX takes,
on the path of every pass with files to check. importlib.util.LazyLoader would defer them too, but on Python 3.11
the import system's own look at a lazy module's `__spec__` (at every later `import` of it) runs the module at once.
Here the module object carries its spec, path and loader as plain attributes, and runs its code when something
asks for a name it does not have yet. Written by hand for that reason."""

from __future__ import annotations

import importlib.util
import sys
import threading
import types

__all__ = ["defer_import"]

_LOCK = threading.RLock()


class _OnFirstUse(types.ModuleType):
    """A module whose code has not run yet: the first attribute it lacks runs it (once), then is looked up."""

    def __getattr__(self, name: str):
        with _LOCK:  # another thread asking meanwhile waits for the code to have run
            loader = self.__dict__.pop("_deferred_loader", None)
            if loader is not None:
                try:
                    loader.exec_module(self)
                except BaseException:
                    sys.modules.pop(self.__name__, None)  # as a failed import leaves it
                    raise
        return object.__getattribute__(self, name)  # AttributeError when the module has no such name


def defer_import(name: str) -> None:
    """Put module `name` in sys.modules unexecuted, to run on first use (nothing when it is imported already or
    cannot be found). Its parent packages are imported now."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _OnFirstUse
    module._deferred_loader = spec.loader
    sys.modules[name] = module
