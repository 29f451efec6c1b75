"""Test helpers shared by every app's tests: an isolated LEPTON_HOME, a real HTTP
server on loopback, a headless-Chromium page driver and the contract mixins."""
