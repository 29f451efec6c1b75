"""Monitoring: each version's reference profile, drift of the served inputs and answers against it, and the
``lepton monitor`` report. Shared here; each app says only what its monitored features are
(``apps/<app>/monitoring.py``, ``MONITOR_CLASS``, a subclass of :class:`AppMonitor`)."""

from lepton_shared.monitoring.appmonitor import AppMonitor, ReplaySkipped, app_monitor, logged_features, write_reference
from lepton_shared.monitoring.drift import DriftScore, drift_score
from lepton_shared.monitoring.profile import PROFILE_FILE, FeatureProfile, Profile, build_profile, load_profile

__all__ = ["PROFILE_FILE", "AppMonitor", "DriftScore", "FeatureProfile", "Profile", "ReplaySkipped", "app_monitor",
           "build_profile", "drift_score", "load_profile", "logged_features", "write_reference"]
