"""Detectors, each a module behind the interface in `base`; `apps.security.analysis` runs them."""
