"""Pure measure definitions (kinds, formulas) shared by cube/ and loaders/."""
