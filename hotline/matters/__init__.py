"""Matters (工单): tickets left in the IVR and who owns a caller's matter (首问责任制)."""
