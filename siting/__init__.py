"""siting: decide where to train AI models so they emit the least CO2."""

from siting.accounting import Footprint, emissions_t, energy_mwh, footprint
from siting.errors import InfeasibleError, SitingError

__all__ = ["Footprint", "InfeasibleError", "SitingError", "emissions_t", "energy_mwh",
           "footprint"]
__version__ = "0.1.0"
