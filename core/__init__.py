"""Domain types: the site file, the signal catalogue, readings and the clock.

Imports nothing of ours."""

from core.catalogue import Catalogue, KindSpec, SignalSpec, SignalType, load_catalogue
from core.clock import Clock, FakeClock, SystemClock
from core.readings import Quality, Reading
from core.site import Equipment, Site, SiteError, load_site, parse_site

__all__ = [
    "Catalogue",
    "Clock",
    "Equipment",
    "FakeClock",
    "KindSpec",
    "Quality",
    "Reading",
    "SignalSpec",
    "SignalType",
    "Site",
    "SiteError",
    "SystemClock",
    "load_catalogue",
    "load_site",
    "parse_site",
]
