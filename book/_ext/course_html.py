"""Small fixes to the HTML that Jupyter Book 1 produces, so that pages load without console errors.

sphinx-thebe (always loaded by Jupyter Book 1) registers its inline configuration script
once per reading pass, and a page that declares ``const THEBE_JS_URL`` twice throws a
SyntaxError in the browser. Duplicate scripts are dropped here, page by page.
The theme also logs a console error when no default colour mode is set: light it is.
And the course's stylesheet (``static/course.css``: code and output font size, model answers)
is added to every page. A lab page's Colab, Binder and download buttons open the students' edition
(``editions/student/<lab>.ipynb``: no solutions), which the build copies next to the pages.
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
    editions = Path(app.srcdir) / "_editions"   # staged by tools/build.py: copied to the site's root
    if editions.is_dir():
        app.config.html_extra_path.append(str(editions))


def _students_edition_buttons(app, pagename, templatename, context, doctree):
    """Point a lab page's launch and download buttons at the students' edition of the lab."""
    if not pagename.startswith("labs/"):
        return
    lab = pagename.split("/", 1)[1]
    download = context["pathto"](f"editions/student/{lab}.ipynb", 1)

    def fix(item):
        if isinstance(item, dict):
            url = item.get("url")
            if isinstance(url, str) and "_sources/" in url and url.endswith(".ipynb"):
                item["url"] = download
            elif isinstance(url, str):
                item["url"] = url.replace(f"labs/{lab}.ipynb", f"editions/student/{lab}.ipynb") \
                    .replace(f"labs%2F{lab}.ipynb", f"editions%2Fstudent%2F{lab}.ipynb")
            for value in item.values():
                fix(value)
        elif isinstance(item, list):
            for value in item:
                fix(value)

    fix(context.get("header_buttons", []))


def setup(app):
    app.connect("builder-inited", _add_stylesheet)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    app.connect("html-page-context", _students_edition_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
