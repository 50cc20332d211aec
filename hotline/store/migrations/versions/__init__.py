"""One revision per schema change; 0001 is the schema of 2026-12-07, the baseline."""
