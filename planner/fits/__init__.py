"""Fitted energy and runtime curves: the curve and its report (``curves``), regression
forms (``forms``), which terms the data identify (``identify``), held-out validation
(``validation``), fitting store rows (``fitting``), the shipped catalogue (``catalogue``)
and where a plan's fits come from (``sources``: the store's fits, saved in it once per
version of its rows, else the catalogue).

Loading a catalogue needs no fitting code (no scikit-learn), so the names below load on
first use.
"""

from planner._lazy import lazy_api

_PUBLIC = {
    "Catalogue": "planner.fits.catalogue",
    "CatalogueError": "planner.fits.catalogue",
    "load_catalogue": "planner.fits.catalogue",
    "Curve": "planner.fits.curves",
    "FitReport": "planner.fits.curves",
    "FitError": "planner.fits.fitting",
    "fit_arm": "planner.fits.fitting",
    "fit_store": "planner.fits.fitting",
    "energy_basis": "planner.fits.fitting",
    "total_energy_j": "planner.fits.energy",
    "DefaultForm": "planner.fits.forms",
    "PaperForm": "planner.fits.forms",
    "NoFitsError": "planner.fits.sources",
    "load_reports": "planner.fits.sources",
    "StoreFits": "planner.fits.sources",
    "store_fits": "planner.fits.sources",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_api(__name__, _PUBLIC)
