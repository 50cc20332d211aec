"""The controller process: the one composition root, which builds every service once."""
