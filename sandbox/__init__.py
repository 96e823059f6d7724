"""A stand-in for the WeChat official-account API, with a browser chat simulator."""
from sandbox.app import create_app
from sandbox.config import Knobs, SandboxConfig

__all__ = ["Knobs", "SandboxConfig", "create_app"]
