"""Nuanxin's face: the Flask app, Folium map builders, templates, static files, the CLI.

``from webmap import create_app`` gives the application factory (imported lazily, so the
command line does not load Flask for commands that do not need it).
"""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from webmap.app import create_app

        return create_app
    raise AttributeError(f"module 'webmap' has no attribute {name!r}")
