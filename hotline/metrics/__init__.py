"""Metrics for Prometheus and a health check for a load balancer (`[metrics]`): a feature the
composition root attaches when it is enabled."""
