"""Fitted energy and runtime curves: forms, term identification, validation, fitting, the
shipped catalogue, and where a plan's fits come from (store or catalogue)."""

from planner.fits.catalogue import Catalogue, CatalogueError, load_catalogue
from planner.fits.curves import Curve, FitReport
from planner.fits.fitting import FitError, fit_arm, fit_store
from planner.fits.forms import DefaultForm, PaperForm
from planner.fits.sources import NoFitsError, load_reports

__all__ = [
    "Catalogue",
    "CatalogueError",
    "Curve",
    "DefaultForm",
    "FitError",
    "FitReport",
    "NoFitsError",
    "PaperForm",
    "fit_arm",
    "fit_store",
    "load_catalogue",
    "load_reports",
]
