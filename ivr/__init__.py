"""The flow engine: call flows as data, the pure interpreter, the runtime over a channel seam."""
