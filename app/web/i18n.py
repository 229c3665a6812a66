"""The page's language: chosen by the user (or the session before sign-in), found in app/translations."""
from __future__ import annotations

from babel import support
from flask import current_app, session
from flask_babel import Babel, Domain, get_locale
from flask_login import current_user

from engine import users

LOCALES = users.LOCALES

babel = Babel()


def locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


class CatalogDomain(Domain):
    """Finds app/translations/zh_CN for the locale Babel calls zh_Hans_CN (gettext alone would look
    for zh_Hans_CN and zh only)."""

    def get_translations(self) -> support.NullTranslations:
        found = get_locale()
        if found is None:
            return support.NullTranslations()
        name = f"{found.language}_{found.territory}" if found.territory else found.language
        cached = self.cache.get(name)
        if cached is None:
            cached = support.Translations()
            for directory in self.translation_directories:
                catalog = support.Translations.load(directory, [name, str(found)], self.domain[0])
                if isinstance(catalog, support.Translations):  # not found: a NullTranslations, nothing to merge
                    cached.merge(catalog)
                    cached.plural = catalog.plural  # merge() leaves the plural rule behind
            self.cache[name] = cached
        return cached


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return str(current_user.locale)
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else current_app.config["BABEL_DEFAULT_LOCALE"]
