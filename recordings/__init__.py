"""Every call's audio: naming, reading and (later) the catalogue, processing and retention."""
