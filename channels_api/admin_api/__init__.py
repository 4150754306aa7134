"""Admin API: what staff tools and integrations call with a secret key.

(Named `admin_api` so that it does not shadow the `channels_api.admin` module
that Django's admin site autodiscovers.)
"""
