"""One reconcile tick of one TrafficShift, over the pure parts (routing, analysis, rollout) and
the cluster seam. The scheduler and pipeline mode both drive shifts only through
``reconcile_once``.
"""

from controller.reconcile.ports import Cluster, Dependencies
from controller.reconcile.tick import TickOutcome, reconcile_once

__all__ = ["Cluster", "Dependencies", "TickOutcome", "reconcile_once"]
