"""Placeholder: the Flask app factory lands with the web UI issue."""
