"""What every web page shares, one module per concern; views import from the module they need.

session (signed-in user, unit of work, sign-in guard), i18n (language), display (names, times and
values shown in the page's language), form_display (form posts and form data on pages), requests
(JSON or HTML, safe redirects, request parameters), errors (the error page and handlers),
error_details (what went wrong, worded in the user's language), setup (wiring it all into the app).
Nothing here holds domain rules (those are in engine/).
"""
