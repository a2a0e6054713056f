"""WTForms classes only."""
