"""Small fixes to the HTML that Jupyter Book 1 produces, so that pages load without console errors.

sphinx-thebe (always loaded by Jupyter Book 1) registers its inline configuration script
once per reading pass, and a page that declares ``const THEBE_JS_URL`` twice throws a
SyntaxError in the browser. Duplicate scripts are dropped here, page by page.
The theme also logs a console error when no default colour mode is set: light it is.
And the course's stylesheet (``static/course.css``: code and output font size, model answers)
is added to every page.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", None) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    if "script_files" in context:
        context["script_files"][:] = unique


def _add_stylesheet(app):
    app.config.html_static_path.append(str(STATIC))
    app.add_css_file("course.css")


def setup(app):
    app.connect("builder-inited", _add_stylesheet)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
