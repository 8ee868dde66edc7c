"""Code writers for the Python export (app.inference.python_export)."""
