"""Component models.  Each returns area, energy per action and latency per action (SI units)
from the technology; none of them counts actions — counts come from mapping and the rule plan.
Every function broadcasts over numpy arrays so one call can evaluate many design points."""

from .base import Cost, Tech

__all__ = ["Cost", "Tech"]
