"""Deployment configuration: the org registry (`orgs.toml` + secrets from the environment) and service settings.

Never imported by workflow code: it reads the environment.
"""
