"""HTTP routers, one module per resource; thin wrappers over app.nn and app.training."""
