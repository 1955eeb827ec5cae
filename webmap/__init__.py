"""Nuanxin's face: the Flask app, Folium map builders, templates, static files, the CLI."""
