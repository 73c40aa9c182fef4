"""HTTP resources as Flask blueprints: thin views (parse → service → serialise)."""
