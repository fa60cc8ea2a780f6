"""display_controls: the Chinese strings of the text-size and high-contrast controls (适老化).

The controls themselves are theme files: ``theme/templates/partials/display_controls.html`` (included in
``base.html``'s header), ``theme/static/js/display-early.js`` (sets the remembered classes on ``<html>`` before
the first paint), ``theme/static/js/display.js`` (the buttons, in ``PORTAL_SCRIPTS``) and
``theme/static/css/display.css`` (button styles and the high-contrast palette, in ``PORTAL_STYLESHEETS``).

This folder exists for ``translations/zh.po``, which ``portal_i18n`` loads from every ``plugins/*/translations``
folder. The plugin connects no signal and need not be listed in ``PLUGINS``.
"""


def register() -> None:
    """Nothing to hook: the strings are found by portal_i18n whether or not this plugin is enabled."""
