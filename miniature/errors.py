"""The errors of unusable data and models, raised wherever the package reads them.

Each message names the file or source at fault and what to do about it. Errors of the
config itself (:class:`miniature.config.ConfigError`) and of the inputs it names
(:class:`miniature.inputs.InputError`) live with the checks that raise them.
"""


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the record."""


class ModelError(ValueError):
    """A model folder or source that cannot be used safely; the message names it."""


class PackageNotInstalled(ModelError):
    """A model package source whose distribution is not installed (yet)."""
