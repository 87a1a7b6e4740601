"""cimcost: what a neural network and its learning rule cost on a compute-in-memory chip."""

from .errors import InputError
from .estimate import Estimate, estimate
from .network import Layer, Network, load_network, mlp
from .rules import get_rule, rule_names

__all__ = ["Estimate", "InputError", "Layer", "Network", "estimate", "get_rule", "load_network",
           "mlp", "rule_names"]
__version__ = "0.1.0"
