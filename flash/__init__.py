"""Flash: the static-site generator of the newsletter *Flash initiatives locales*."""

__version__ = "1.0.0"
