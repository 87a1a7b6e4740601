"""cimcost: what a neural network and its learning rule cost on a compute-in-memory chip."""

from .errors import InputError
from .estimate import Estimate, estimate
from .network import Layer, Network, load_network, mlp
from .rules import get_rule, rule_names

__all__ = ["Estimate", "InputError", "Layer", "Network", "estimate", "get_rule", "load_network",
           "mlp", "read_table", "rule_names", "sweep"]


def __getattr__(name: str) -> object:
    # the sweep engine pulls in more (pyarrow on demand, process pools): load it when asked
    if name in ("sweep", "read_table"):
        from . import sweeps

        return getattr(sweeps, name)
    raise AttributeError(f"module 'cimcost' has no attribute {name!r}")
__version__ = "0.1.0"
