"""The suite's apps, one package each; found by ``lepton_shared.manifest.discover``.

``extend_path`` lets an app package live in another ``sys.path`` entry (a plug-in
folder, or a toy app in a test) and still be ``apps.<name>``.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
