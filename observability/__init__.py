"""Dashboards and alerts as code: the Grafana dashboard and the Prometheus alert rules, generated from the metric
catalogue (`python -m observability.generate` writes the checked-in files; a test keeps them in step)."""
