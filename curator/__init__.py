"""The curator: syncs WordPress.org into a git data repository and builds Composer repositories.

Public entry points live in submodules (``curator.sync``, ``curator.gitstore``, ...); this
package only carries the tool version, which is written into commit trailers and manifests.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
